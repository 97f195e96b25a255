using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Rpc;

/// <summary>One <c>&lt;Type&gt;.SetConfig</c> call planned for one device, with the keys it changes.</summary>
public sealed record PlannedConfigCall(string DeviceId, string Component, string Method, JsonObject Params, IReadOnlyList<string> ChangedKeys);

/// <summary>
/// Applies configuration to devices component by component: from a JSON template (<c>{"switch:0":{...},"sys":{...}}</c>) or
/// copied from a source device. Component ids are kept (<c>switch:1</c> goes to <c>Switch.SetConfig {id:1}</c>); a target
/// without that component is skipped; only keys that differ from the target's current config are sent.
/// </summary>
public static class ConfigApplier
{
    /// <summary>Components that identify a device or its network and are never copied from another device unless asked by name.</summary>
    public static readonly IReadOnlySet<string> DeviceSpecific = new HashSet<string>(StringComparer.Ordinal) { "wifi", "ws", "cloud", "mqtt", "ble", "sys" };

    /// <summary>Keys inside a component config that are the device's own (never copied).</summary>
    private static readonly HashSet<string> s_ownKeys = new(StringComparer.Ordinal) { "id", "mac", "fw_id", "cfg_rev" };

    /// <summary>Builds the template from a source device's config (the components asked for, or all but device-specific ones).</summary>
    public static JsonObject TemplateFromDevice(DeviceState source, IReadOnlyCollection<string>? components)
    {
        ArgumentNullException.ThrowIfNull(source);
        var template = new JsonObject();
        lock (source.Gate)
        {
            foreach (var (key, value) in source.Config ?? [])
            {
                if (value is JsonObject o && (components is { Count: > 0 } ? components.Contains(key) : !DeviceSpecific.Contains(key)))
                {
                    template[key] = o.DeepClone();
                }
            }
        }
        return template;
    }

    /// <summary>The calls that would bring each target to the template (nothing for targets already matching).</summary>
    public static IReadOnlyList<PlannedConfigCall> Plan(IDeviceStore devices, IEnumerable<string> targets, JsonObject template, IReadOnlyCollection<string>? components = null)
    {
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(template);
        var calls = new List<PlannedConfigCall>();
        foreach (var id in targets)
        {
            var d = devices.Get(id);
            if (d is null)
            {
                continue;
            }
            JsonObject? config;
            lock (d.Gate)
            {
                config = d.Config;
            }
            {
                foreach (var (key, value) in template)
                {
                    if (value is not JsonObject wanted || (components is { Count: > 0 } && !components.Contains(key)))
                    {
                        continue;
                    }
                    var current = config?[key] as JsonObject;
                    if (current is null && config is not null)
                    {
                        continue;
                    }
                    var change = new JsonObject();
                    foreach (var (k, v) in wanted)
                    {
                        if (!s_ownKeys.Contains(k) && !JsonNode.DeepEquals(v, current?[k]))
                        {
                            change[k] = v?.DeepClone();
                        }
                    }
                    if (change.Count > 0)
                    {
                        calls.Add(new PlannedConfigCall(id, key, $"{DeviceHub.TypeName(key)}.SetConfig", DeviceHub.IdParams(key, new JsonObject { ["config"] = change }),
                            change.Select(kv => kv.Key).ToList()));
                    }
                }
            }
        }
        return calls;
    }

    /// <summary>Runs planned calls (devices in parallel, each device's calls in order) and returns one result per call.</summary>
    public static async Task<IReadOnlyList<(PlannedConfigCall Call, DeviceCallResult Result)>> ApplyAsync(DeviceHub hub, IReadOnlyList<PlannedConfigCall> plan, string? user,
        IProgress<int>? progress = null, CancellationToken ct = default)
    {
        var results = new List<(PlannedConfigCall, DeviceCallResult)>();
        var done = 0;
        await Parallel.ForEachAsync(plan.GroupBy(c => c.DeviceId), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (device, token) =>
        {
            foreach (var call in device)
            {
                var r = await FleetRpc.CallOneAsync(hub, call.DeviceId, call.Method, call.Params, null, user, token).ConfigureAwait(false);
                lock (results)
                {
                    results.Add((call, r));
                }
                progress?.Report(Interlocked.Increment(ref done));
            }
        }).ConfigureAwait(false);
        return results;
    }
}
