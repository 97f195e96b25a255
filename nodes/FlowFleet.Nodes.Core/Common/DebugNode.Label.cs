using System.Text.Json.Nodes;
using static FlowFleet.Nodes.Core.Common.NodeLabelText;

namespace FlowFleet.Nodes.Core.Common;

public sealed partial class DebugNode
{
    /// <summary>Node-RED's debug label: the property it shows (<c>msg.payload</c>, <c>msg</c>), or <c>JSONata</c>.</summary>
    public static string? Label(JsonObject node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (S(node, "targetType") == "jsonata")
        {
            return "JSONata";
        }
        return S(node, "complete") switch
        {
            "true" => "msg",
            "" or "false" => "msg.payload",
            var complete => "msg." + complete,
        };
    }
}
