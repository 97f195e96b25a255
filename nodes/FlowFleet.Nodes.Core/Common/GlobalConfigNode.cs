using System.Text.Json.Nodes;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Common;

/// <summary>
/// Node-RED 4's <c>global-config</c>: the one config node holding the global environment variables (Node-RED's "Global
/// Environment Variables" in the user settings) and the modules the flows need. Its <c>env</c> is read by the engine
/// between the flow's own env and the process environment; the node itself does nothing at run time.
/// </summary>
[NodeType("global-config", Category = "config", Inputs = 0, Outputs = 0,
    Help = "Global environment variables (`env`: a list of `{name, value, type}`), seen by every node after its group's and flow's own (`env` typed inputs, `env.get`, `$env`, `${VAR}`), before the process environment.")]
public sealed class GlobalConfigNode : FlowNode<GlobalConfigConfig>;

public sealed class GlobalConfigConfig
{
    [NodeProperty(Default = "[]", UiHint = PropertyUi.Hidden)]
    public JsonArray? Env { get; set; }

    [NodeProperty(Default = "{}", UiHint = PropertyUi.Hidden)]
    public JsonObject? Modules { get; set; }
}
