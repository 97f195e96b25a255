using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Server.Fleet.FleetManager;

/// <summary>
/// Frames and shapes of Shelly's fleet manager (FM) client protocol: answers come from <c>FLEET_MANAGER</c> and go back
/// to the caller's <c>src</c>; devices appear as FM's device object (<c>shellyID, source, info, status, presence,
/// settings, kvs, entities, meta</c>).
/// </summary>
public static class FmFrames
{
    /// <summary>The <c>dst</c> of server calls and the <c>src</c> of server answers and events.</summary>
    public const string ServerName = "FLEET_MANAGER";

    // FM's codes (its rpc_relay.md and RpcError): invalid request / no such device, unknown method, bad params, unauthorized.
    public const int InvalidRequest = -32600;
    public const int MethodNotFound = -32601;
    public const int InvalidParams = -32602;
    public const int Unauthorized = -32603;
    public const int ParseError = -32700;

    public static JsonObject Result(JsonNode? id, string? dst, JsonNode? result) =>
        new() { ["jsonrpc"] = "2.0", ["id"] = id?.DeepClone(), ["src"] = ServerName, ["dst"] = dst ?? "", ["result"] = result };

    public static JsonObject Error(JsonNode? id, string? dst, int code, string message) =>
        new() { ["jsonrpc"] = "2.0", ["id"] = id?.DeepClone(), ["src"] = ServerName, ["dst"] = dst ?? "", ["error"] = new JsonObject { ["code"] = code, ["message"] = message } };

    public static JsonObject Event(string method, JsonObject parameters) => new() { ["jsonrpc"] = "2.0", ["method"] = method, ["params"] = parameters };

    /// <summary>FM's presence of a device: <c>online</c>, <c>offline</c> or <c>pending</c>.</summary>
    public static string Presence(DeviceState d, bool online) =>
        d.Admission == AdmissionStates.Pending ? "pending" : online ? "online" : "offline";

    /// <summary>The device as FM serializes it (<c>Device.List</c>, <c>Device.Get</c>, <c>Shelly.Connect</c>).</summary>
    public static JsonObject DeviceObject(DeviceState d, bool online, IReadOnlyDictionary<string, string>? kvs)
    {
        ArgumentNullException.ThrowIfNull(d);
        JsonObject status;
        JsonObject? info;
        JsonObject? config;
        DateTime lastSeen;
        lock (d.Gate)
        {
            status = d.Status;
            info = d.Info;
            config = d.Config;
            lastSeen = d.LastSeen;
        }
        var kv = new JsonObject();
        foreach (var (k, v) in kvs ?? new Dictionary<string, string>())
        {
            kv[k] = v;
        }
        return new JsonObject
        {
            // FM's numeric database id: derived from the shellyID (its MAC), so it is stable without a column of its own.
            ["shellyID"] = d.Id, ["id"] = NumericId(d.Id), ["source"] = online ? "ws" : "offline", ["info"] = info ?? [],
            ["status"] = status, ["presence"] = Presence(d, online), ["settings"] = config ?? [], ["kvs"] = kv,
            ["entities"] = new JsonArray(FmEntities.Of(d).Select(e => (JsonNode?)e["id"]!.GetValue<string>()).ToArray()),
            ["meta"] = new JsonObject { ["lastReportTs"] = lastSeen == default ? null : new DateTimeOffset(DateTime.SpecifyKind(lastSeen, DateTimeKind.Utc)).ToUnixTimeMilliseconds() },
        };
    }

    /// <summary>
    /// FM's reason for a status change, which subscriptions filter with <c>deny</c>/<c>allow</c> rules (<c>*:aenergy</c>,
    /// <c>em:*</c>): <c>&lt;type&gt;:aenergy</c>, <c>switch:output</c>, <c>switch:consumption</c> or <c>&lt;type&gt;:generic</c>.
    /// </summary>
    public static string Reason(string key, JsonNode? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        var type = colon < 0 ? key : key[..colon];
        if (value is JsonObject o)
        {
            if (o.ContainsKey("aenergy"))
            {
                return type + ":aenergy";
            }
            if (key.StartsWith("switch", StringComparison.Ordinal))
            {
                if (o.ContainsKey("output"))
                {
                    return type + ":output";
                }
                if (o.ContainsKey("current") || o.ContainsKey("apower") || o.ContainsKey("voltage"))
                {
                    return type + ":consumption";
                }
            }
        }
        return type + ":generic";
    }

    /// <summary>FM's rule match: <c>*:x</c> any type with x, <c>t:*</c> any reason of type t, else exact.</summary>
    public static bool Matches(string reason, string rule)
    {
        ArgumentNullException.ThrowIfNull(reason);
        ArgumentNullException.ThrowIfNull(rule);
        var (reasonCore, reasonPart) = Split(reason);
        var (ruleCore, rulePart) = Split(rule);
        if (ruleCore == "*")
        {
            return rulePart == "*" || reasonPart == rulePart;
        }
        return rulePart == "*" ? reasonCore == ruleCore : reasonCore == ruleCore && reasonPart == rulePart;
    }

    private static (string, string?) Split(string s)
    {
        var colon = s.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (s, null) : (s[..colon], s[(colon + 1)..]);
    }

    /// <summary>
    /// FM's numeric device id (its database row number, which FM's web UI keys devices and virtual entities by). FlowFleet
    /// derives it from the shellyID so it is stable across restarts and servers: the MAC part as a number (below 2^48),
    /// or for ids without one a 52-bit hash above 2^48 — both exact in a JavaScript number.
    /// </summary>
    public static long NumericId(string shellyId)
    {
        ArgumentNullException.ThrowIfNull(shellyId);
        var dash = shellyId.LastIndexOf('-');
        var mac = shellyId.AsSpan(dash + 1);
        if (mac.Length == 12 && long.TryParse(mac, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var n))
        {
            return n;
        }
        var hash = 14695981039346656037UL;
        foreach (var c in shellyId)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }
        return (long)(hash & ((1UL << 52) - 1)) | (1L << 48);
    }

    /// <summary>
    /// A device named by a client: its full id, FM's numeric id (<see cref="NumericId"/>), or (as FM's relay allows) the
    /// MAC part alone — <c>3ce90e30583c</c> for <c>shellyplusplugs-3ce90e30583c</c>. Null when no device matches.
    /// </summary>
    public static DeviceState? Resolve(IDeviceStore devices, string name)
    {
        ArgumentNullException.ThrowIfNull(devices);
        if (devices.Get(name) is { } exact)
        {
            return exact;
        }
        if (name.Length == 0 || name.Contains('-', StringComparison.Ordinal))
        {
            return null;
        }
        if (name.Length < 17 && name.All(char.IsAsciiDigit) && long.TryParse(name, System.Globalization.CultureInfo.InvariantCulture, out var number)
            && devices.All.FirstOrDefault(d => NumericId(d.Id) == number) is { } numbered)
        {
            return numbered;
        }
        var suffix = "-" + name;
        return devices.All.FirstOrDefault(d => d.Id.EndsWith(suffix, StringComparison.OrdinalIgnoreCase));
    }
}
