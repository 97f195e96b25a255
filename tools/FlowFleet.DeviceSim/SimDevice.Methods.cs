using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.DeviceSim;

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

    private bool SwitchMethod(string verb, JsonObject status, JsonObject p, string source, List<JsonObject> outbox, out JsonNode? result)
    {
        var was = status["output"]!.GetValue<bool>();
        bool on;
        switch (verb.ToLowerInvariant())
        {
            case "set":
                on = BoolArg(p, "on") ?? throw Missing("on");
                break;
            case "toggle":
                on = !was;
                break;
            default:
                result = null;
                return false;
        }
        SetSwitch(status, on, source);
        result = new JsonObject { ["was_on"] = was };
        return true;
    }

    private void SetSwitch(JsonObject status, bool on, string source)
    {
        status["output"] = on;
        status["source"] = source;
        var power = on ? Math.Round(_baseLoad * (0.95 + _random.NextDouble() * 0.1), 1) : 0.0;
        status["apower"] = power;
        status["current"] = Math.Round(power / 230, 3);
        status["pf"] = on ? 0.97 : 0.0;
    }

    private bool LightMethod(string verb, JsonObject status, JsonObject p, string source, out JsonNode? result)
    {
        result = null;
        switch (verb.ToLowerInvariant())
        {
            case "set":
                var on = BoolArg(p, "on");
                if (p["brightness"] is not null)
                {
                    var b = IntArg(p, "brightness", required: true);
                    if (b is < 0 or > 100)
                    {
                        throw new ShellyRpcException(ShellyRpcException.InvalidArgument, "Argument 'brightness', value must be between 0 and 100!");
                    }
                    status["brightness"] = b;
                }
                else if (on is null)
                {
                    throw Missing("on");
                }
                if (on is not null)
                {
                    status["output"] = on.Value;
                }
                break;
            case "toggle":
                status["output"] = !status["output"]!.GetValue<bool>();
                break;
            default:
                return false;
        }
        status["source"] = source;
        return true;
    }

    private JsonNode? InputTrigger(string key, JsonObject p, List<JsonObject> outbox)
    {
        var type = p["event_type"]?.GetValue<string>() ?? throw Missing("event_type");
        if (type is not ("single_push" or "double_push" or "triple_push" or "long_push" or "btn_down" or "btn_up"))
        {
            throw new ShellyRpcException(ShellyRpcException.InvalidArgument, $"Invalid event_type '{type}'");
        }
        EmitEvents(outbox, new JsonObject { ["component"] = key, ["id"] = int.Parse(key[6..], CultureInfo.InvariantCulture), ["event"] = type });
        return null;
    }

    /// <summary>Turns every switch and light on, as if someone flipped them at the wall.</summary>
    public void SwitchAllOn()
    {
        lock (_gate)
        {
            foreach (var (key, (status, _)) in _components)
            {
                if (key.StartsWith("switch:", StringComparison.Ordinal))
                {
                    SetSwitch(status, true, "button");
                }
                else if (key.StartsWith("light:", StringComparison.Ordinal))
                {
                    status["output"] = true;
                }
            }
        }
    }

    /// <summary>Simulates a physical button press on an input (emits the event like the real device).</summary>
    public void Press(int input, string eventType = "single_push") =>
        Call("Input.Trigger", new JsonObject { ["id"] = input, ["event_type"] = eventType }, "button");

    private bool CoverMethod(string verb, string key, JsonObject status, JsonObject p, string source, List<JsonObject> outbox)
    {
        int target;
        switch (verb.ToLowerInvariant())
        {
            case "open":
                target = 100;
                break;
            case "close":
                target = 0;
                break;
            case "gotoposition":
                target = p["pos"] is not null ? IntArg(p, "pos", true)
                    : p["rel"] is not null ? Math.Clamp(status["current_pos"]!.GetValue<int>() + IntArg(p, "rel", true), 0, 100)
                    : throw Missing("pos");
                if (target is < 0 or > 100)
                {
                    throw new ShellyRpcException(ShellyRpcException.InvalidArgument, "Argument 'pos', value must be between 0 and 100!");
                }
                break;
            case "stop":
                _motion?.Cancel();
                status["state"] = "stopped";
                status["apower"] = 0.0;
                status["source"] = source;
                Emit(outbox, new JsonObject { [key] = status.DeepClone() });
                return true;
            case "calibrate":
                target = 100;
                break;
            default:
                return false;
        }
        _motion?.Cancel();
        var cts = _motion = new CancellationTokenSource();
        var current = status["current_pos"]!.GetValue<int>();
        status["state"] = target >= current ? "opening" : "closing";
        status["apower"] = 120.0;
        status["source"] = source;
        Emit(outbox, new JsonObject { [key] = status.DeepClone() });
        _ = MoveCoverAsync(key, status, target, cts.Token);
        return true;
    }

    private async Task MoveCoverAsync(string key, JsonObject status, int target, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(100, ct).ConfigureAwait(false);
                JsonObject frame;
                lock (_gate)
                {
                    if (ct.IsCancellationRequested)
                    {
                        return;
                    }
                    var pos = status["current_pos"]!.GetValue<int>();
                    var step = Math.Sign(target - pos) * Math.Min(20, Math.Abs(target - pos));
                    pos += step;
                    status["current_pos"] = pos;
                    var done = pos == target;
                    if (done)
                    {
                        status["state"] = target == 100 ? "open" : target == 0 ? "closed" : "stopped";
                        status["apower"] = 0.0;
                    }
                    frame = ShellyFrames.Notification(Id, "NotifyStatus", new JsonObject { [key] = status.DeepClone(), ["ts"] = ShellyFrames.Now() });
                    Send(frame);
                    if (done)
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private JsonNode? Kvs(string method, string verb, JsonObject p)
    {
        switch (verb.ToLowerInvariant())
        {
            case "set":
                var key = p["key"]?.GetValue<string>() ?? throw Missing("key");
                var value = p["value"]?.ToJsonString() ?? throw Missing("value");
                if (key.Length > 42 || value.Length > 253)
                {
                    throw new ShellyRpcException(ShellyRpcException.InvalidArgument, key.Length > 42 ? "Key too long" : "Value too long");
                }
                if (!_kvs.ContainsKey(key) && _kvs.Count >= 50)
                {
                    throw new ShellyRpcException(ShellyRpcException.ResourceExhausted, "Too many keys");
                }
                if (p["etag"] is not null && _kvs.TryGetValue(key, out var old) && old.Etag != p["etag"]!.GetValue<string>())
                {
                    throw new ShellyRpcException(ShellyRpcException.FailedPrecondition, "Etag mismatch");
                }
                var etag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
                _kvs[key] = (value, etag);
                return new JsonObject { ["etag"] = etag, ["rev"] = ++_kvsRev };
            case "get":
                var k = p["key"]?.GetValue<string>() ?? throw Missing("key");
                return _kvs.TryGetValue(k, out var e) ? new JsonObject { ["etag"] = e.Etag, ["value"] = JsonNode.Parse(e.Value) }
                    : throw new ShellyRpcException(ShellyRpcException.NotFound, $"No such key: {k}");
            case "getmany" or "list":
                var match = p["match"]?.GetValue<string>() ?? "*";
                var items = new JsonObject();
                foreach (var (name, item) in _kvs.Where(kv => Matches(kv.Key, match)))
                {
                    items[name] = verb.Equals("list", StringComparison.OrdinalIgnoreCase)
                        ? new JsonObject { ["etag"] = item.Etag }
                        : new JsonObject { ["etag"] = item.Etag, ["value"] = JsonNode.Parse(item.Value) };
                }
                return verb.Equals("list", StringComparison.OrdinalIgnoreCase) ? new JsonObject { ["keys"] = items, ["rev"] = _kvsRev } : new JsonObject { ["items"] = items };
            case "delete":
                var dk = p["key"]?.GetValue<string>() ?? throw Missing("key");
                return _kvs.Remove(dk) ? new JsonObject { ["rev"] = ++_kvsRev } : throw new ShellyRpcException(ShellyRpcException.NotFound, $"No such key: {dk}");
            default:
                throw NoHandler(method);
        }
    }

    private static bool Matches(string key, string pattern) =>
        pattern == "*" || (pattern.EndsWith('*') ? key.StartsWith(pattern[..^1], StringComparison.Ordinal) : key == pattern);

    private JsonNode? Script(string method, string verb, JsonObject p)
    {
        switch (verb.ToLowerInvariant())
        {
            case "create":
                if (_scripts.Count >= 10)
                {
                    throw new ShellyRpcException(ShellyRpcException.ResourceExhausted, "Too many scripts");
                }
                var id = _scripts.Count == 0 ? 1 : _scripts.Keys.Max() + 1;
                _scripts[id] = new JsonObject { ["id"] = id, ["name"] = p["name"]?.DeepClone() ?? $"script_{id}", ["enable"] = false, ["running"] = false, ["code"] = "" };
                return new JsonObject { ["id"] = id };
            case "putcode":
                var s = ScriptById(p);
                var code = p["code"]?.GetValue<string>() ?? throw Missing("code");
                s["code"] = BoolArg(p, "append") == true ? s["code"]!.GetValue<string>() + code : code;
                return new JsonObject { ["len"] = s["code"]!.GetValue<string>().Length };
            case "start" or "stop":
                var sc = ScriptById(p);
                var was = sc["running"]!.GetValue<bool>();
                sc["running"] = verb.Equals("start", StringComparison.OrdinalIgnoreCase);
                return new JsonObject { ["was_running"] = was };
            case "list":
                return new JsonObject { ["scripts"] = new JsonArray(_scripts.Values.Select(x => (JsonNode?)new JsonObject { ["id"] = x["id"]!.DeepClone(), ["name"] = x["name"]!.DeepClone(), ["enable"] = x["enable"]!.DeepClone(), ["running"] = x["running"]!.DeepClone() }).ToArray()) };
            case "delete":
                _scripts.Remove(ScriptById(p)["id"]!.GetValue<int>());
                return null;
            default:
                throw NoHandler(method);
        }
    }

    private JsonObject ScriptById(JsonObject p)
    {
        var id = IntArg(p, "id", required: true);
        return _scripts.TryGetValue(id, out var s) ? s : throw new ShellyRpcException(ShellyRpcException.NotFound, $"Bad id={id}");
    }

    private JsonNode? Schedule(string method, string verb, JsonObject p, List<JsonObject> outbox)
    {
        switch (verb.ToLowerInvariant())
        {
            case "create":
                var timespec = p["timespec"]?.GetValue<string>() ?? throw Missing("timespec");
                if (p["calls"] is not JsonArray calls)
                {
                    throw Missing("calls");
                }
                var id = _schedules.Count == 0 ? 1 : _schedules.Keys.Max() + 1;
                _schedules[id] = new JsonObject { ["id"] = id, ["enable"] = BoolArg(p, "enable") ?? true, ["timespec"] = timespec, ["calls"] = calls.DeepClone() };
                _scheduleRev++;
                return new JsonObject { ["id"] = id, ["rev"] = _scheduleRev };
            case "list":
                return new JsonObject { ["jobs"] = new JsonArray(_schedules.Values.Select(j => j.DeepClone()).ToArray()), ["rev"] = _scheduleRev };
            case "delete":
                var sid = IntArg(p, "id", required: true);
                if (!_schedules.Remove(sid))
                {
                    throw new ShellyRpcException(ShellyRpcException.NotFound, $"Bad id={sid}");
                }
                return new JsonObject { ["rev"] = ++_scheduleRev };
            default:
                throw NoHandler(method);
        }
    }

    /// <summary>
    /// One report period passed: meters move plausibly (power jitters, energy accumulates, temperatures drift) and the
    /// changed components go out as a NotifyStatus.
    /// </summary>
    public void Tick(TimeSpan elapsed)
    {
        JsonObject changes = [];
        lock (_gate)
        {
            var hours = elapsed.TotalHours;
            foreach (var (key, (status, _)) in _components)
            {
                if (key.StartsWith("switch:", StringComparison.Ordinal))
                {
                    if (status["output"]!.GetValue<bool>())
                    {
                        SetSwitch(status, true, status["source"]!.GetValue<string>());
                        AddEnergy(status, status["apower"]!.GetValue<double>() * hours);
                    }
                    Drift(status["temperature"]!.AsObject(), 35);
                    changes[key] = status.DeepClone();
                }
                else if (key.StartsWith("light:", StringComparison.Ordinal) || key.StartsWith("cover:", StringComparison.Ordinal))
                {
                    Drift(status["temperature"]!.AsObject(), 33);
                    changes[key] = new JsonObject { ["temperature"] = status["temperature"]!.DeepClone() };
                }
                else if (key == "em:0")
                {
                    var fresh = SimProfile.EmStatus(Index, 0.8 + _random.NextDouble() * 0.4);
                    foreach (var (k, v) in fresh)
                    {
                        status[k] = v?.DeepClone();
                    }
                    changes[key] = status.DeepClone();
                    var emdata = _components["emdata:0"].Status;
                    foreach (var phase in new[] { "a", "b", "c" })
                    {
                        emdata[$"{phase}_total_act_energy"] = Math.Round(emdata[$"{phase}_total_act_energy"]!.GetValue<double>() + fresh[$"{phase}_act_power"]!.GetValue<double>() * hours, 3);
                    }
                    emdata["total_act"] = Math.Round(emdata["total_act"]!.GetValue<double>() + fresh["total_act_power"]!.GetValue<double>() * hours, 3);
                    changes["emdata:0"] = emdata.DeepClone();
                }
                else if (key == "temperature:0")
                {
                    Drift(status, 21);
                    changes[key] = status.DeepClone();
                }
                else if (key == "humidity:0")
                {
                    status["rh"] = Math.Round(Math.Clamp(status["rh"]!.GetValue<double>() + (_random.NextDouble() - 0.5), 20, 90), 1);
                    changes[key] = status.DeepClone();
                }
            }
            if (changes.Count == 0)
            {
                var sys = _components["sys"].Status;
                sys["ram_free"] = 140000 + _random.Next(10000);
                changes["sys"] = new JsonObject { ["ram_free"] = sys["ram_free"]!.DeepClone() };
            }
            changes["ts"] = ShellyFrames.Now();
        }
        Send(ShellyFrames.Notification(Id, "NotifyStatus", changes));
    }

    private void Drift(JsonObject temperature, double around)
    {
        var c = temperature["tC"]!.GetValue<double>();
        c = Math.Round(c + (around - c) * 0.1 + (_random.NextDouble() - 0.5) * 0.4, 1);
        temperature["tC"] = c;
        temperature["tF"] = Math.Round(c * 9 / 5 + 32, 1);
    }

    private static void AddEnergy(JsonObject status, double wh)
    {
        var energy = status["aenergy"]!.AsObject();
        energy["total"] = Math.Round(energy["total"]!.GetValue<double>() + wh, 3);
        var minute = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60;
        var byMinute = energy["by_minute"]!.AsArray();
        if (energy["minute_ts"]!.GetValue<long>() != minute)
        {
            byMinute.Insert(0, 0.0);
            byMinute.RemoveAt(byMinute.Count - 1);
            energy["minute_ts"] = minute;
        }
        byMinute[0] = Math.Round(byMinute[0]!.GetValue<double>() + wh * 1000, 3);
    }
}
