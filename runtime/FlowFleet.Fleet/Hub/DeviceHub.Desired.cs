using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Hub;

/// <summary>Desired state ("shadow") applied to devices, and config re-read when a device reports a new revision.</summary>
public sealed partial class DeviceHub
{
    /// <summary>Re-reads the whole config (<c>Shelly.GetConfig</c> plus dynamic components) after <c>sys.cfg_rev</c> changed.</summary>
    private async Task RereadAllConfigAsync(DeviceSession session)
    {
        try
        {
            var config = await session.CallAsync("Shelly.GetConfig").ConfigureAwait(false) as JsonObject;
            if (config is null)
            {
                return;
            }
            if (session.State.Methods.Contains("Shelly.GetComponents", StringComparer.OrdinalIgnoreCase))
            {
                await AddDynamicComponentsAsync(session, config).ConfigureAwait(false);
            }
            registry.ApplyIdentity(session.State, null, config, null, null);
            Raise(new DeviceEvent(DeviceEventKind.Config, session.Id, null, ShellyFrames.Now()));
        }
        catch (ShellyRpcException ex)
        {
            LogIdentityFailed(session.Id, ex.Message);
        }
    }

    /// <summary>Re-reads a component's config after <c>config_changed</c> (device info too for <c>sys</c>).</summary>
    private async Task RereadConfigAsync(DeviceSession session, string component)
    {
        try
        {
            var colon = component.IndexOf(':', StringComparison.Ordinal);
            var type = colon < 0 ? component : component[..colon];
            var typeName = TypeName(component);
            JsonObject? p = colon < 0 ? null : new JsonObject { ["id"] = int.Parse(component[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture) };
            var config = await session.CallAsync($"{typeName}.GetConfig", p).ConfigureAwait(false);
            JsonObject? info = type == "sys" ? await session.CallAsync("Shelly.GetDeviceInfo").ConfigureAwait(false) as JsonObject : null;
            lock (session.State.Gate)
            {
                session.State.SetConfigComponent(component, config);
            }
            registry.ApplyIdentity(session.State, info, null, null, null);
            Raise(new DeviceEvent(DeviceEventKind.Config, session.Id, null, ShellyFrames.Now()) { Component = component });
            if (info is not null)
            {
                Raise(new DeviceEvent(DeviceEventKind.Info, session.Id, null, ShellyFrames.Now()));
            }
        }
        catch (Exception ex) when (ex is ShellyRpcException or FormatException)
        {
            LogIdentityFailed(session.Id, ex.Message);
        }
    }

    /// <summary>Brings a device to its desired state: outputs, brightness, cover position, then config differences.</summary>
    public async Task<IReadOnlyList<string>> ApplyDesiredAsync(string id, CancellationToken ct = default)
    {
        var state = registry.Get(id);
        if (state is null || !IsOnline(id))
        {
            return [];
        }
        List<(string Method, JsonObject Params)> calls = [];
        lock (state.Gate)
        {
            if (state.Desired is null)
            {
                return [];
            }
            foreach (var (key, value) in state.Desired)
            {
                if (value is not JsonObject want)
                {
                    continue;
                }
                if (key == "config")
                {
                    foreach (var (comp, cfg) in want)
                    {
                        if (cfg is JsonObject c && Differs(c, state.Config?[comp] as JsonObject))
                        {
                            calls.Add(($"{TypeName(comp)}.SetConfig", IdParams(comp, new JsonObject { ["config"] = c.DeepClone() })));
                        }
                    }
                    continue;
                }
                var reported = state.StatusOf(key) as JsonObject;
                if (key.StartsWith("switch:", StringComparison.Ordinal) && want["output"] is JsonValue so && Differs(want, reported, "output"))
                {
                    calls.Add(("Switch.Set", IdParams(key, new JsonObject { ["on"] = so.DeepClone() })));
                }
                else if (key.StartsWith("light:", StringComparison.Ordinal) && (Differs(want, reported, "output") || Differs(want, reported, "brightness")))
                {
                    var p = IdParams(key, []);
                    if (want["output"] is { } lo)
                    {
                        p["on"] = lo.DeepClone();
                    }
                    if (want["brightness"] is { } b)
                    {
                        p["brightness"] = b.DeepClone();
                    }
                    calls.Add(("Light.Set", p));
                }
                else if (key.StartsWith("cover:", StringComparison.Ordinal) && want["current_pos"] is { } pos && Differs(want, reported, "current_pos"))
                {
                    calls.Add(("Cover.GoToPosition", IdParams(key, new JsonObject { ["pos"] = pos.DeepClone() })));
                }
            }
        }
        var done = new List<string>();
        foreach (var (method, p) in calls)
        {
            try
            {
                await CallAsync(id, method, p, user: "shadow", ct: ct).ConfigureAwait(false);
                done.Add(method);
            }
            catch (ShellyRpcException ex)
            {
                LogIdentityFailed(id, $"desired state: {method} failed: {ex.Message}");
            }
        }
        return done;
    }

    private static bool Differs(JsonObject want, JsonObject? reported, string key) =>
        want[key] is { } w && !JsonNode.DeepEquals(w, reported?[key]);

    private static bool Differs(JsonObject want, JsonObject? reported) => want.Any(kv => kv.Value is JsonObject o
        ? Differs(o, reported?[kv.Key] as JsonObject)
        : !JsonNode.DeepEquals(kv.Value, reported?[kv.Key]));

    /// <summary><c>switch:0</c> → <c>Switch</c>, <c>wifi</c> → <c>WiFi</c>.</summary>
    public static string TypeName(string component)
    {
        var colon = component.IndexOf(':', StringComparison.Ordinal);
        var type = colon < 0 ? component : component[..colon];
        return type switch { "sys" => "Sys", "wifi" => "WiFi", "ws" => "Ws", "ble" => "BLE", "mqtt" => "Mqtt", "em" => "EM", "emdata" => "EMData", "devicepower" => "DevicePower", _ => char.ToUpperInvariant(type[0]) + type[1..] };
    }

    /// <summary>Adds <c>id</c> from <c>switch:0</c> to params (nothing for singleton components).</summary>
    public static JsonObject IdParams(string component, JsonObject p)
    {
        var colon = component.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && int.TryParse(component[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            p["id"] = id;
        }
        return p;
    }
}
