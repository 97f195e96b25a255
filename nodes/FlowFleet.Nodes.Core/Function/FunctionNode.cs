using FlowFleet.Nodes.Core.Common;
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
    - `await node.linkcall(target, msg, {timeout})` (Node-RED 5): calls the flow at a `link in` (id or name) and returns what its `link out` in return mode hands back.
    - `context`, `flow`, `global` with `get(key, store)` / `set(key, value, store)` / `keys(store)`; `env.get(name)`; `RED.util.cloneMessage(msg)`.
    - Setup → Modules (`libs`, `[{var, module}]`): Node's built-in `os` and `path` as globals (setting `Nodes:FunctionExternalModules=false` refuses them).
    - Limits are always on (time per call, statements, memory, recursion): a script that breaks one fails that message with a catchable error.
    """)]
public sealed class FunctionNode : FlowNode<FunctionConfig>, ILinkReturnTarget
{
    private readonly ScriptHost _script;
    // Made by the first node.linkcall (a deploy builds hundreds of function nodes that never make one).
    private System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource<FlowMessage>>? _linkCalls;

    public FunctionNode(INodeHost node, FunctionConfig config, IOptions<FlowEngineOptions> options, IOptions<CoreNodesOptions>? coreOptions = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        _modules = FunctionModules.Read(config.Libs);
        _modulesAllowed = coreOptions?.Value.FunctionExternalModules ?? true;
        _script = new ScriptHost(node, options.Value.Scripts,
            new ScriptSource(config.Func ?? "", Math.Max(0, config.Outputs), config.Timeout, config.Initialize, config.Finalize)
            {
                Modules = _modules.Where(m => ScriptModules.LoadError(m.Value) is null && !ScriptModules.ReservedNames.Contains(m.Key)).ToList(),
            })
        {
            LinkCall = CallLink,
        };
    }

    private readonly IReadOnlyList<KeyValuePair<string, string>> _modules;
    private readonly bool _modulesAllowed;

    /// <summary>node.linkcall: the message goes to the link in with this node on its <c>_linkSource</c> stack.</summary>
    private FlowMessage CallLink(string target, FlowMessage msg, TimeSpan timeout)
    {
        var linkIn = Node.FindNode(target) is LinkInNode ? target
            : LinkCallFrames.FindLinkIn(Node, target) ?? throw new LinkCallException("Error target 'link in' node not found");
        var callId = LinkCallFrames.Push(msg, Node.Id);
        var waiting = new TaskCompletionSource<FlowMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = LazyInitializer.EnsureInitialized(ref _linkCalls, static () => new(StringComparer.Ordinal));
        calls[callId] = waiting;
        try
        {
            if (!Node.Deliver(linkIn, msg))
            {
                throw new LinkCallException("Error target 'link in' node not found");
            }
            return waiting.Task.Wait(timeout, Node.Closing) ? waiting.Task.Result : throw new LinkCallException("timeout");
        }
        catch (OperationCanceledException)
        {
            throw new LinkCallException("timeout");
        }
        finally
        {
            calls.TryRemove(callId, out _);
        }
    }

    public void OnLinkReturn(FlowMessage msg)
    {
        ArgumentNullException.ThrowIfNull(msg);
        if (LinkCallFrames.TryPop(msg, out var id) && id is not null && Volatile.Read(ref _linkCalls) is { } calls && calls.TryGetValue(id, out var waiting))
        {
            waiting.TrySetResult(msg);
        }
    }

    private Task _setup = Task.CompletedTask;

    /// <summary>
    /// The setup code starts here and runs apart: a slow one never holds the deploy. A setup that throws or rejects is
    /// logged as Node-RED logs it (the error alone, to no catch node) and the node then drops its messages, as Node-RED's does.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var errors = _modules.Count > 0 && !_modulesAllowed
            // As Node-RED's functionExternalModules: false refuses the node.
            ? ["Function node not allowed to load external modules (setting Nodes:FunctionExternalModules is false)"]
            : FunctionModules.Errors(_modules);
        if (errors.Count > 0)
        {
            // A module that cannot be loaded fails this node, not the deploy: it says why, and drops its messages as
            // Node-RED's does.
            foreach (var error in errors)
            {
                Node.Error(error);
            }
            if (_modulesAllowed)
            {
                Node.Error("Function node failed to load external modules");
            }
            Node.Status(new NodeStatus("red", "ring", _modulesAllowed ? "module load failed" : "modules not allowed"));
            _setup = Task.FromException(new InvalidOperationException("modules failed to load"));
            _ = _setup.Exception;
            return Task.CompletedTask;
        }
        _setup = _script.InitializeAsync();
        _setup.ContinueWith(t =>
        {
            if (t.Exception!.GetBaseException() is ScriptException { JsError: { } error })
            {
                Node.Error(error);
            }
            else
            {
                Node.Error(t.Exception.GetBaseException().Message);
            }
            Node.Status(new NodeStatus("red", "ring", "setup failed"));
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (!_setup.IsCompleted)
        {
            // Messages wait for the setup code and then run in order, as in Node-RED (the node takes one at a time, the
            // rest queue meanwhile).
            await _setup.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
        }
        if (!_setup.IsCompletedSuccessfully)
        {
            // Dropped without completing (Node-RED's node never calls done for it).
            Node.DeferDone();
            return;
        }
        await _script.HandleInputAsync(Node, msg, cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask CloseAsync(bool removed) => new(_script.ShutdownAsync(Node));
}
