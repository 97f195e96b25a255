using System.Security.Cryptography;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.DeviceSim;

/// <summary>KVS, Script and Schedule methods: the device-side stores.</summary>
public sealed partial class SimDevice
{
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
}
