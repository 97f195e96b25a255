using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Scripting;

namespace FlowFleet.Runtime.Plugins;

/// <summary>
/// A node type written in JavaScript (a plugin folder with <c>plugin.json</c> + a script). The script is the body of a
/// function node with one more global, <c>config</c>: the node's properties from the flow.
/// </summary>
internal sealed class JsPluginNode : FlowNode
{
    private readonly ScriptHost _script;

    public JsPluginNode(INodeHost node, JsonObject nodeConfig, string code, int outputs, ScriptLimits limits)
    {
        var config = (JsonObject)nodeConfig.DeepClone();
        config.Remove("wires");
        _script = new ScriptHost(node, limits, new ScriptSource(code, outputs) { Globals = new Dictionary<string, JsonNode?> { ["config"] = config } });
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (_script.UsesDone)
        {
            Node.DeferDone();
        }
        var ports = _script.Run(msg);
        if (ports.Count > 0)
        {
            Node.Send(ports);
        }
        return ValueTask.CompletedTask;
    }

    public override ValueTask CloseAsync(bool removed)
    {
        try
        {
            _script.Close();
        }
        finally
        {
            _script.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
