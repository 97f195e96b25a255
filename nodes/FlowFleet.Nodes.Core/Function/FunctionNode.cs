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

    private Task _setup = Task.CompletedTask;

    /// <summary>The setup code starts here and runs apart: a slow or endless one fails this node, never the deploy.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _setup = _script.InitializeAsync();
        _setup.ContinueWith(t =>
        {
            Node.Error("Setup code failed: " + t.Exception!.GetBaseException().Message);
            Node.Status(new NodeStatus("red", "ring", "setup failed"));
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (!_setup.IsCompleted)
        {
            // Messages wait for the setup code, as in Node-RED (they queue meanwhile).
            await _setup.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
        }
        if (_setup.IsFaulted)
        {
            throw new ScriptException("Setup code failed: " + _setup.Exception!.GetBaseException().Message);
        }
        _script.HandleInput(Node, msg);
    }

    public override ValueTask CloseAsync(bool removed) => new(_script.ShutdownAsync(Node));
}
