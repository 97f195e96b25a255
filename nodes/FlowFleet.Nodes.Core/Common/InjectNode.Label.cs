using System.Text.Json.Nodes;
using static FlowFleet.Nodes.Core.Common.NodeLabelText;

namespace FlowFleet.Nodes.Core.Common;

public sealed partial class InjectNode
{
    /// <summary>Node-RED's inject label: <c>topic:payload</c> or the payload, the value type for timestamps and buffers,
    /// <c>¹</c> when it fires once, <c>↻</c> when it repeats.</summary>
    public static string? Label(JsonObject node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var suffix = node["once"] is JsonValue o && o.TryGetValue<bool>(out var once) && once ? " ¹" : "";
        if ((S(node, "repeat") is { Length: > 0 } r && r != "0") || S(node, "crontab").Length > 0)
        {
            suffix = " ↻";
        }
        var payload = S(node, "payload");
        var type = S(node, "payloadType") is { Length: > 0 } t ? t : "str";
        var topic = S(node, "topic");
        return type switch
        {
            "string" or "str" or "num" or "bool" or "json" when topic.Length > 0 && topic.Length + payload.Length <= 32 => topic + ":" + payload + suffix,
            "string" or "str" or "num" or "bool" or "json" when payload.Length is > 0 and < 24 => payload + suffix,
            "date" or "bin" or "env" => (topic.Length is > 0 and <= 16 ? topic + ":" : "") + TypeLabel(type) + suffix,
            "flow" or "global" => type + "." + payload + suffix,
            _ => "inject" + suffix,
        };
    }

    private static string TypeLabel(string type) => type switch { "date" => "timestamp", "bin" => "buffer", _ => "env variable" };
}
