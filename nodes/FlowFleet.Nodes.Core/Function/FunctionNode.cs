using FlowFleet.Runtime;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Scripting;
using Microsoft.Extensions.Options;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>Runs JavaScript (Jint) for each message with Node-RED's function API, under the runtime's limits.</summary>
[NodeType("function", Category = "function", Color = "#fdd0a2", Icon = "code", OutputsProperty = "outputs", Aliases = ["script"],
    Help = """
    A JavaScript function run for each message (Node-RED's function node).

    - `return msg;` sends it on; `return [m1, m2];` one per output; `return [[a, b]];` several on output 1; `return null;` nothing.
    - `node.send(msg)`, `node.warn()`, `node.error(err, msg)` (reaches catch nodes), `node.status({fill, shape, text})`, `node.done()`.
    - `context`, `flow`, `global` with `get(key, store)` / `set(key, value, store)` / `keys(store)`; `env.get(name)`; `RED.util.cloneMessage(msg)`.
    - Limits are always on (time per call, statements, memory, recursion): a script that breaks one fails that message with a catchable error.
    """)]
public sealed class FunctionNode : FlowNode<FunctionConfig>
{
    private readonly ScriptHost _script;

    public FunctionNode(INodeHost node, FunctionConfig config, IOptions<FlowEngineOptions> options)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        _script = new ScriptHost(node, options.Value.Scripts,
            new ScriptSource(config.Func ?? "", Math.Max(0, config.Outputs), config.Timeout, config.Initialize, config.Finalize));
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        _script.HandleInput(Node, msg);
        return ValueTask.CompletedTask;
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _script.Shutdown(Node);
        return ValueTask.CompletedTask;
    }
}
