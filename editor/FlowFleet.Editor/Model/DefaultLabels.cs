using System.Text.Json.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>
/// The labels Node-RED's core nodes show when they have no name (their <c>label</c> functions in the node HTML files), so a
/// new or imported node reads — and is as wide — as in Node-RED. Types not listed here use the descriptor's label rules.
/// </summary>
internal static class DefaultLabels
{
    public static string? For(JsonObject node) => FlowWorkspace.TypeOf(node) switch
    {
        "inject" => Inject(node),
        "debug" => Debug(node),
        "function" => "function",
        "switch" => "switch",
        "template" => "template",
        "change" => Change(node),
        "delay" => Delay(node),
        _ => null,
    };

    private static string S(JsonObject node, string name) => node[name] is JsonValue v ? v.ToString() : "";

    private static string Inject(JsonObject node)
    {
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

    private static string Debug(JsonObject node)
    {
        var complete = S(node, "complete");
        if (S(node, "targetType") == "jsonata")
        {
            return "JSONata";
        }
        return complete switch
        {
            "true" => "msg",
            "" or "false" => "msg.payload",
            _ => "msg." + complete,
        };
    }

    private static string Change(JsonObject node)
    {
        if (node["rules"] is not JsonArray rules)
        {
            return "change";
        }
        if (rules.Count != 1 || rules[0] is not JsonObject rule)
        {
            return $"change: {rules.Count} rules";
        }
        var property = (S(rule, "pt") is { Length: > 0 } pt ? pt : "msg") + "." + S(rule, "p");
        return S(rule, "t") switch
        {
            "set" => "set " + property,
            "change" => "change " + property,
            "move" => "move " + property,
            _ => "delete " + property,
        };
    }

    private static string Delay(JsonObject node)
    {
        var units = S(node, "timeoutUnits");
        var rate = S(node, "rate") + " msg/" + (S(node, "rateUnits") is { Length: > 0 } ru
            ? (FlowWorkspace.Num(node["nbRateUnits"]) > 1 ? S(node, "nbRateUnits") : "") + ru[0] : "s");
        return S(node, "pauseType") switch
        {
            "delayv" => "delay msg.delay",
            "delay" => "delay " + S(node, "timeout") + (units == "milliseconds" ? "ms" : units.Length > 0 ? units[..1] : "s"),
            "random" => "random",
            "rate" => "limit " + rate,
            "burst" => "burst " + rate,
            _ => "limit topic " + rate,
        };
    }
}
