using System.Text.Json.Nodes;
using static FlowFleet.Nodes.Core.Common.NodeLabelText;

namespace FlowFleet.Nodes.Core.Function;

public sealed partial class ChangeNode
{
    /// <summary>Node-RED's change label: the one rule (<c>set msg.payload</c>) or how many rules there are.</summary>
    public static string? Label(JsonObject node)
    {
        ArgumentNullException.ThrowIfNull(node);
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
}
