using System.Text.Json.Nodes;
using static FlowFleet.Nodes.Core.Common.NodeLabelText;

namespace FlowFleet.Nodes.Core.Function;

public sealed partial class DelayNode
{
    /// <summary>Node-RED's delay label: <c>delay 5s</c>, <c>limit 1 msg/s</c>, <c>random</c>...</summary>
    public static string? Label(JsonObject node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var units = S(node, "timeoutUnits");
        var rate = S(node, "rate") + " msg/" + (S(node, "rateUnits") is { Length: > 0 } ru
            ? (Num(node["nbRateUnits"]) > 1 ? S(node, "nbRateUnits") : "") + ru[0] : "s");
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
