using System.Globalization;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.DeviceSim;

/// <summary>RPC dispatch by component type, argument checks, the Shelly.* methods and SetConfig.</summary>
public sealed partial class SimDevice
{
    private static readonly Dictionary<string, string> s_componentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Sys"] = "sys", ["WiFi"] = "wifi", ["Cloud"] = "cloud", ["Mqtt"] = "mqtt", ["Ws"] = "ws", ["BLE"] = "ble", ["Switch"] = "switch", ["Input"] = "input",
        ["Cover"] = "cover", ["Light"] = "light", ["EM"] = "em", ["EMData"] = "emdata", ["Temperature"] = "temperature", ["Humidity"] = "humidity",
        ["DevicePower"] = "devicepower",
    };

    private static readonly string[] s_fixedMethods =
    [
        "Shelly.GetDeviceInfo", "Shelly.GetStatus", "Shelly.GetConfig", "Shelly.GetComponents", "Shelly.ListMethods", "Shelly.Reboot", "Shelly.Update",
        "Shelly.CheckForUpdate", "Shelly.SetAuth", "KVS.Set", "KVS.Get", "KVS.GetMany", "KVS.List", "KVS.Delete", "Script.Create", "Script.PutCode",
        "Script.Start", "Script.Stop", "Script.List", "Script.Delete", "Schedule.Create", "Schedule.List", "Schedule.Delete", "WiFi.Scan",
    ];

    private JsonNode? Dispatch(string method, JsonObject p, string source, List<JsonObject> outbox)
    {
        var dot = method.IndexOf('.', StringComparison.Ordinal);
        var type = dot < 0 ? method : method[..dot];
        var verb = dot < 0 ? "" : method[(dot + 1)..];
        switch (type.ToLowerInvariant())
        {
            case "shelly":
                return ShellyMethod(method, verb, p, outbox);
            case "kvs":
                return Kvs(method, verb, p);
            case "script":
                return Script(method, verb, p);
            case "schedule":
                return Schedule(method, verb, p, outbox);
        }
        if (type.Equals("WiFi", StringComparison.OrdinalIgnoreCase) && verb.Equals("Scan", StringComparison.OrdinalIgnoreCase))
        {
            return new JsonObject
            {
                ["results"] = new JsonArray(
                    new JsonObject { ["ssid"] = "FlowFleetLab", ["bssid"] = "aa:bb:cc:00:11:22", ["auth"] = 3, ["channel"] = 6, ["rssi"] = -48 },
                    new JsonObject { ["ssid"] = "Neighbours", ["bssid"] = "aa:bb:cc:33:44:55", ["auth"] = 4, ["channel"] = 11, ["rssi"] = -81 }),
            };
        }
        if (!s_componentTypes.TryGetValue(type, out var prefix) || !_components.Keys.Any(k => k == prefix || k.StartsWith(prefix + ":", StringComparison.Ordinal)))
        {
            throw NoHandler(method);
        }
        var key = _components.ContainsKey(prefix) ? prefix : ComponentKey(prefix, p);
        var (status, config) = _components[key];
        switch (verb.ToLowerInvariant())
        {
            case "getstatus":
                if (key == "sys")
                {
                    UpdateSys();
                }
                return status.DeepClone();
            case "getconfig":
                return config.DeepClone();
            case "setconfig":
                return SetConfig(key, config, p, outbox);
        }
        var changed = prefix switch
        {
            "switch" => SwitchMethod(verb, status, p, source, outbox, out var r1) ? r1 : throw NoHandler(method),
            "cover" => CoverMethod(verb, key, status, p, source, outbox) ? null : throw NoHandler(method),
            "light" => LightMethod(verb, status, p, source, out var r2) ? r2 : throw NoHandler(method),
            "input" when verb.Equals("Trigger", StringComparison.OrdinalIgnoreCase) => InputTrigger(key, p, outbox),
            _ => throw NoHandler(method),
        };
        if (prefix is "switch" or "light" && changed is not null)
        {
            Emit(outbox, new JsonObject { [key] = status.DeepClone() });
        }
        return changed;
    }

    private static ShellyRpcException NoHandler(string method) => new(ShellyRpcException.NoHandler, $"No handler for {method}");

    private string ComponentKey(string prefix, JsonObject p)
    {
        var id = IntArg(p, "id", required: true);
        var key = $"{prefix}:{id}";
        return _components.ContainsKey(key) ? key : throw new ShellyRpcException(ShellyRpcException.NotFound, $"Bad id={id}");
    }

    private static int IntArg(JsonObject p, string name, bool required, int fallback = 0)
    {
        if (p[name] is not JsonValue v)
        {
            return required ? throw Missing(name) : fallback;
        }
        if (v.TryGetValue<double>(out var d) && d == Math.Floor(d))
        {
            return (int)d;
        }
        if (v.TryGetValue<int>(out var i))
        {
            return i;
        }
        throw new ShellyRpcException(ShellyRpcException.InvalidArgument, $"Argument '{name}', value type is invalid, expected number!");
    }

    private static bool? BoolArg(JsonObject p, string name)
    {
        if (p[name] is null)
        {
            return null;
        }
        return p[name] is JsonValue v && v.TryGetValue<bool>(out var b) ? b
            : throw new ShellyRpcException(ShellyRpcException.InvalidArgument, $"Argument '{name}', value type is invalid, expected bool!");
    }

    private static ShellyRpcException Missing(string name) => new(ShellyRpcException.InvalidArgument, $"Missing required argument '{name}'!");

    private JsonNode? ShellyMethod(string method, string verb, JsonObject p, List<JsonObject> outbox)
    {
        switch (verb.ToLowerInvariant())
        {
            case "getdeviceinfo":
                return DeviceInfo();
            case "getstatus":
                return FullStatus();
            case "getconfig":
                var cfg = new JsonObject();
                foreach (var (k, c) in _components)
                {
                    cfg[k] = c.Config.DeepClone();
                }
                return cfg;
            case "getcomponents":
                var offset = IntArg(p, "offset", required: false);
                var dynamicOnly = BoolArg(p, "dynamic_only") ?? false;
                var all = dynamicOnly ? [] : _components.OrderBy(k => k.Key, StringComparer.Ordinal).ToList();
                const int PageSize = 5;
                var page = new JsonArray();
                foreach (var (k, c) in all.Skip(offset).Take(PageSize))
                {
                    page.Add(new JsonObject { ["key"] = k, ["status"] = c.Status.DeepClone(), ["config"] = c.Config.DeepClone() });
                }
                return new JsonObject { ["components"] = page, ["cfg_rev"] = _cfgRev, ["offset"] = offset, ["total"] = all.Count };
            case "listmethods":
                var methods = new List<string>(s_fixedMethods);
                foreach (var (name, prefix) in s_componentTypes)
                {
                    if (_components.Keys.Any(k => k == prefix || k.StartsWith(prefix + ":", StringComparison.Ordinal)))
                    {
                        methods.AddRange([$"{name}.GetStatus", $"{name}.GetConfig", $"{name}.SetConfig"]);
                        methods.AddRange(prefix switch
                        {
                            "switch" => ["Switch.Set", "Switch.Toggle"],
                            "cover" => ["Cover.Open", "Cover.Close", "Cover.Stop", "Cover.GoToPosition", "Cover.Calibrate"],
                            "light" => ["Light.Set", "Light.Toggle"],
                            "input" => ["Input.Trigger"],
                            _ => [],
                        });
                    }
                }
                return new JsonObject { ["methods"] = new JsonArray(methods.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()) };
            case "reboot":
                var delay = TimeSpan.FromMilliseconds(IntArg(p, "delay_ms", required: false, fallback: 1000));
                ThreadPool.QueueUserWorkItem(_ => Rebooting?.Invoke(delay));
                return null;
            case "checkforupdate":
                var updates = _components["sys"].Status["available_updates"]!.DeepClone().AsObject();
                if (updates["stable"] is JsonObject s)
                {
                    s["build_id"] = "20250101-000000/" + s["version"] + "-sim";
                }
                return updates;
            case "update":
                var target = _components["sys"].Status["available_updates"]!["stable"]?["version"]?.GetValue<string>();
                if (target is null && p["url"] is null)
                {
                    throw new ShellyRpcException(ShellyRpcException.FailedPrecondition, "No update available");
                }
                _ = RunUpdateAsync(target ?? _version + "-custom");
                return null;
            case "setauth":
                var ha1 = p["ha1"];
                if (p["user"]?.GetValue<string>() != ShellyDigest.User)
                {
                    throw new ShellyRpcException(ShellyRpcException.InvalidArgument, "Invalid user!");
                }
                _ha1 = ha1 is null ? null : ha1.GetValue<string>();
                return null;
            default:
                throw NoHandler(method);
        }
    }

    private async Task RunUpdateAsync(string version)
    {
        var component = "sys";
        Send(EventFrame(new JsonObject { ["component"] = component, ["event"] = "ota_begin", ["msg"] = "Waiting for data" }));
        for (var pct = 20; pct <= 100; pct += 20)
        {
            await Task.Delay(150).ConfigureAwait(false);
            Send(EventFrame(new JsonObject { ["component"] = component, ["event"] = "ota_progress", ["msg"] = "Downloading", ["progress_percent"] = pct }));
        }
        lock (_gate)
        {
            _version = version;
            _fwId = $"20250101-000000/{version}-sim";
            _components["sys"].Status["available_updates"] = new JsonObject();
            _components["sys"].Config["device"]!["fw_id"] = _fwId;
        }
        Send(EventFrame(new JsonObject { ["component"] = component, ["event"] = "ota_success", ["msg"] = "Update applied, rebooting" }));
        Rebooting?.Invoke(TimeSpan.FromMilliseconds(300));
    }

    private JsonObject EventFrame(JsonObject e)
    {
        List<JsonObject> outbox = [];
        EmitEvents(outbox, e);
        return outbox[0];
    }

    private JsonObject SetConfig(string key, JsonObject config, JsonObject p, List<JsonObject> outbox)
    {
        if (p["config"] is not JsonObject changes)
        {
            throw Missing("config");
        }
        foreach (var (k, v) in changes)
        {
            if (k == "id")
            {
                continue;
            }
            if (v is JsonObject o && config[k] is JsonObject existing)
            {
                ShellyFrames.DeepMerge(existing, o);
            }
            else
            {
                config[k] = v?.DeepClone();
            }
        }
        var restart = key is "wifi" or "ws" or "mqtt" or "ble" || (key == "sys" && changes["device"]?["profile"] is not null);
        _cfgRev++;
        _components["sys"].Config["cfg_rev"] = _cfgRev;
        if (restart)
        {
            _components["sys"].Status["restart_required"] = true;
        }
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        var evt = new JsonObject { ["component"] = key, ["event"] = "config_changed", ["restart_required"] = restart, ["cfg_rev"] = _cfgRev };
        if (colon > 0)
        {
            evt["id"] = int.Parse(key[(colon + 1)..], CultureInfo.InvariantCulture);
        }
        EmitEvents(outbox, evt);
        Emit(outbox, new JsonObject { ["sys"] = new JsonObject { ["cfg_rev"] = _cfgRev, ["restart_required"] = _components["sys"].Status["restart_required"]!.DeepClone() } });
        return new JsonObject { ["restart_required"] = restart };
    }
}
