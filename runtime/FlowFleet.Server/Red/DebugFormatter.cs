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
                return ("(undefined)", "undefined");
            case JsonValue sv when JsSpecial.Of(sv) is { } special:
                return special.Kind switch
                {
                    JsSpecialKind.Number => (special.ToString(), "number"),
                    JsSpecialKind.Error => (Special(special).ToJsonString(), "error"),
                    _ => ("(undefined)", "undefined"),
                };
            case JsonValue nv when nv.GetValueKind() == JsonValueKind.Null:
                return ("(undefined)", "null");
            case JsonArray a:
                return (Truncate(a).ToJsonString(), $"array[{a.Count}]");
            case JsonObject o when JsonTools.IsBuffer(o):
                {
                    // A payload Buffer is shown as hex, as Node-RED does.
                    var hex = Convert.ToHexStringLower(JsonTools.BufferBytes(o));
                    return (hex.Length > MaxLength ? hex[..MaxLength] : hex, $"buffer[{o["data"]!.AsArray().Count}]");
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
        var (msg, format) = m.Error is { } error ? Encode(JsSpecial.ForError(error).ToNode())
            : m.IsNull && m.Value is null ? ("(undefined)", "null") : Encode(m.Value);
        // Node-RED leaves out what is undefined: name without a configured name, topic without msg.topic, property for
        // complete messages.
        var packet = new JsonObject { ["id"] = m.NodeId, ["z"] = m.FlowId, ["path"] = m.Path ?? m.FlowId };
        if (m.Name is not null)
        {
            packet["name"] = m.Name;
        }
        if (m.TopicValue is not null)
        {
            packet["topic"] = m.TopicValue.DeepClone();
        }
        else if (m.Topic is not null)
        {
            packet["topic"] = m.Topic;
        }
        if (m.Property is { } p)
        {
            packet["property"] = p.StartsWith("msg.", StringComparison.Ordinal) ? p[4..] : p;
        }
        packet["msg"] = msg;
        packet["format"] = format;
        if (m.Level is not null)
        {
            packet["type"] = m.Type;
            packet["timestamp"] = m.Timestamp.ToUnixTimeMilliseconds();
            packet["level"] = m.Level switch { "error" => 20, "warn" => 30, _ => 40 };
        }
        return packet;
    }

    /// <summary>Levels the sidebar shows; deeper values are cut (the walk is recursive, and the value came from a flow).</summary>
    public const int MaxDepth = 100;

    private static JsonNode Truncate(JsonNode node, int depth = 0) => node switch
    {
        JsonObject or JsonArray when depth >= MaxDepth => JsonValue.Create($"[nested more than {MaxDepth} levels]"),
        JsonArray a when a.Count > MaxLength => new JsonObject
        {
            ["__enc__"] = true,
            ["type"] = "array",
            ["data"] = new JsonArray(a.Take(MaxLength).Select(x => x is null ? null : Truncate(x, depth + 1)).ToArray()),
            ["length"] = a.Count,
        },
        JsonArray a => new JsonArray(a.Select(x => x is null ? null : Truncate(x, depth + 1)).ToArray()),
        // Buffers inside objects are marked for the sidebar with their length (Node-RED's encodeObject).
        JsonObject o when JsonTools.IsBuffer(o) => new JsonObject
        {
            ["type"] = "Buffer",
            ["data"] = new JsonArray(o["data"]!.AsArray().Take(MaxLength).Select(x => x is null ? null : Truncate(x, depth + 1)).ToArray()),
            ["__enc__"] = true,
            ["length"] = o["data"]!.AsArray().Count,
        },
        JsonObject o => new JsonObject(o.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value is null ? null : Truncate(kv.Value, depth + 1)))),
        JsonValue v when JsSpecial.Of(v) is { } special => Special(special),
        JsonValue v when v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length > MaxLength =>
            JsonValue.Create(v.GetValue<string>()[..MaxLength] + "...")!,
        _ => node.DeepClone(),
    };

    /// <summary>Node-RED's encoding of undefined, NaN/Infinity and Error objects inside a value.</summary>
    private static JsonObject Special(JsSpecial special)
    {
        var o = new JsonObject { ["__enc__"] = true };
        switch (special.Kind)
        {
            case JsSpecialKind.Number:
                o["type"] = "number";
                o["data"] = special.ToString();
                break;
            case JsSpecialKind.Error:
                o["type"] = "error";
                var data = new JsonObject { ["name"] = special.Error!.Name, ["message"] = special.Error.Message };
                if (special.Error.Stack is { } stack)
                {
                    data["stack"] = stack;
                }
                o["data"] = data;
                break;
            default:
                o["type"] = "undefined";
                break;
        }
        return o;
    }

    public static string Invariant(double d) => d.ToString(CultureInfo.InvariantCulture);
}
