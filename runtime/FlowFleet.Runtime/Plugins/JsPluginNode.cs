using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Scripting;

namespace FlowFleet.Runtime.Plugins;

/// <summary>
/// A node type written in JavaScript (a plugin folder with <c>plugin.json</c> + a script). The script is the body of a
/// function node with one more global, <c>config</c>: the node's properties from the flow. A type declaring a trigger button
/// gets, on each press, a message with a timestamp payload on its own input (in order with the others), as an inject would send.
/// </summary>
internal sealed class JsPluginNode : FlowNode, IInjectable
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
        _script.HandleInput(Node, msg);
        return ValueTask.CompletedTask;
    }

    public void Inject(JsonArray? overrideProps)
    {
        // Override props are inject's own (its property list); a plugin node has none, so they do not apply.
        Node.Deliver(Node.Id, new FlowMessage(new JsonObject
        {
            ["_msgid"] = MessageId.New(), ["payload"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ["topic"] = "",
        }));
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _script.Shutdown(Node);
        return ValueTask.CompletedTask;
    }
}
