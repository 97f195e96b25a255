using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Server.Red;

/// <summary>
/// Node-RED's debug sidebar encoding: the value as a string plus a format (<c>string[4]</c>, <c>number</c>,
/// <c>Object</c>, <c>array[4]</c>, <c>buffer[5]</c>, <c>null</c>, ...); long strings and arrays are cut at 1000.
/// </summary>
public static class DebugFormatter
{
    public const int MaxLength = 1000;

    public static (string Msg, string Format) Encode(JsonNode? value)
    {
        switch (value)
        {
            case null:
                return ("null", "null");
            case JsonArray a:
                return (Truncate(a).ToJsonString(), $"array[{a.Count}]");
            case JsonObject o when JsonTools.IsBuffer(o):
                {
                    var data = o["data"]!.AsArray();
                    var shown = data.Count > MaxLength ? new JsonArray(data.Take(MaxLength).Select(x => x?.DeepClone()).ToArray()) : data;
                    return (shown.ToJsonString(), $"buffer[{data.Count}]");
                }
            case JsonObject o:
                return (Truncate(o).ToJsonString(), "Object");
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case JsonValueKind.String:
                        var s = v.GetValue<string>();
                        return (s.Length > MaxLength ? s[..MaxLength] + "..." : s, $"string[{s.Length}]");
                    case JsonValueKind.Number:
                        return (JsonTools.ToJsString(v), "number");
                    case JsonValueKind.True:
                    case JsonValueKind.False:
                        return (JsonTools.ToJsString(v), "boolean");
                }
                break;
        }
        return ("undefined", "undefined");
    }

    /// <summary>The comms packet for one debug message.</summary>
    public static JsonObject Packet(DebugMessage m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var (msg, format) = Encode(m.Value);
        var packet = new JsonObject
        {
            ["id"] = m.NodeId,
            ["z"] = m.FlowId,
            ["path"] = m.Path ?? m.FlowId,
            ["name"] = m.Name ?? "",
            ["topic"] = m.Topic ?? "",
            ["property"] = m.Property is { } p && p.StartsWith("msg.", StringComparison.Ordinal) ? p[4..] : m.Property ?? "msg",
            ["msg"] = msg,
            ["format"] = format,
            ["timestamp"] = m.Timestamp.ToUnixTimeMilliseconds(),
        };
        if (m.Level is not null)
        {
            packet["level"] = m.Level switch { "error" => 20, "warn" => 30, _ => 40 };
        }
        return packet;
    }

    private static JsonNode Truncate(JsonNode node) => node switch
    {
        JsonArray a when a.Count > MaxLength => new JsonObject
        {
            ["__enc__"] = true,
            ["type"] = "array",
            ["data"] = new JsonArray(a.Take(MaxLength).Select(x => x is null ? null : Truncate(x)).ToArray()),
            ["length"] = a.Count,
        },
        JsonArray a => new JsonArray(a.Select(x => x is null ? null : Truncate(x)).ToArray()),
        JsonObject o => new JsonObject(o.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value is null ? null : Truncate(kv.Value)))),
        JsonValue v when v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length > MaxLength =>
            JsonValue.Create(v.GetValue<string>()[..MaxLength] + "...")!,
        _ => node.DeepClone(),
    };

    public static string Invariant(double d) => d.ToString(CultureInfo.InvariantCulture);
}
