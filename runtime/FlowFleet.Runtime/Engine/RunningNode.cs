using System.Text.Json.Nodes;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Runtime.Engine;

/// <summary>The engine's side of one node: its queue, its wires, and the <see cref="INodeHost"/> it hands the node.</summary>
internal sealed partial class RunningNode : INodeHost
{
    private readonly FlowEngine _engine;
    private readonly NodeQueue? _queue;
    private readonly CancellationTokenSource _closing = new();
    private Task _loop = Task.CompletedTask;
    private bool _deferDone;
    private long _processed;

    public RunningNode(FlowEngine engine, NodeSpec spec, RuntimeScope scope, bool hasInput)
    {
        _engine = engine;
        Spec = spec;
        Scope = scope;
        if (hasInput)
        {
            _queue = new NodeQueue(engine.Options.QueueCapacity);
        }
        NodeContext = engine.Contexts.Scope(ContextManager.NodeScope(spec.Alias, scope.Id));
        // One flow scope per running flow and one global scope per engine, not two objects per node.
        FlowContext = scope.FlowContext ??= engine.Contexts.Scope(scope.Id);
        GlobalContext = engine.GlobalContext;
        Logger = engine.NodeLogger(spec.Type);
    }

    /// <summary>The node's flow entry; a redeploy replaces it (and with it the metric counters of its type).</summary>
    public NodeSpec Spec
    {
        get => _spec;
        set
        {
            _spec = value;
            _counters = _engine.Metrics.For(value.Type);
        }
    }

    private NodeSpec _spec = null!;

    // This node type's counters, looked up once rather than per message.
    private EngineMetrics.Counters _counters = null!;

    public RuntimeScope Scope { get; set; }

    /// <summary>The built node (null while it is being built, or when it failed to build or its type is unknown).</summary>
    public FlowNode? Instance
    {
        get => Volatile.Read(ref _instance);
        set => Volatile.Write(ref _instance, value);
    }

    private FlowNode? _instance;

    /// <summary>Put in place by a deploy and not built yet: wired in, its messages wait in its queue.</summary>
    public bool Building
    {
        get => Volatile.Read(ref _building);
        set => Volatile.Write(ref _building, value);
    }

    private bool _building;

    /// <summary>Targets per output port, swapped whole on each deploy.</summary>
    public RunningNode[][] Wires { get; set; } = [];

    public NodeStatus CurrentStatus { get; private set; } = NodeStatus.Clear;

    public long Processed => Interlocked.Read(ref _processed);

    public int QueueDepth => _queue?.Count ?? 0;

    public string Id => Spec.Id;

    public string Type => Spec.Type;

    public string? Name => Spec.Config["name"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    /// <summary>The configured name as Node-RED's <c>node.name</c> has it: "" stays "", a missing name is null.</summary>
    public string? RawName => Spec.Config["name"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public string FlowId => Scope.Id;

    public string Alias => Spec.Alias;

    public JsonObject Config => Spec.Config;

    public ILogger Logger { get; }

    public IServiceProvider Services => _engine.Services;

    public CancellationToken Closing => _closing.Token;

    public IContextScope NodeContext { get; }

    public IContextScope FlowContext { get; }

    public IContextScope GlobalContext { get; }

    public void StartLoop()
    {
        Volatile.Write(ref _looping, true);
        if (_queue is not null)
        {
            // No thread-pool item per node (a full deploy of 1,000 nodes queued 1,000): the loop's first wait begins on the
            // deploy's thread and every message is handled on the pool (see RunAsync).
            _loop = RunAsync();
        }
    }

    // Inline execution (see FlowNode.RunsInline): _busy is held by whoever runs the node, the loop or a sender; _queued
    // counts queued messages so a sender runs the node itself only when nothing waits ahead of its message.
    private const int MaxInlineDepth = 16;
    [ThreadStatic]
    private static int t_inlineDepth;
    private int _busy;
    private int _queued;
    private bool _senderWaiting;
    // Set once the node is started and its loop runs: before that no sender runs it inline either.
    private bool _looping;
    // Off once runs on a sender's thread take longer than the engine's InlineBudget (see InlineGuard): the node then takes
    // its messages from its queue. A sender's thread can be the socket engine's (device frames are handled where they
    // arrive), so a slow inline node — a catastrophic regex on device data in a switch — would otherwise stall every socket
    // for each message, not just this node.
    private readonly InlineGuard _inline = new();
    // Made by the first sender held back (most nodes never have one).
    private ManualResetEventSlim? _space;

    private async Task RunAsync()
    {
        var reader = _queue!;
        try
        {
            // Started on the deploy's thread (maybe under a synchronization context): never handle a message there. A
            // message already queued is handled after a yield to the pool; otherwise the channel resumes the wait there.
            var first = reader.WaitToReadAsync();
            if (first.IsCompleted)
            {
                await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            }
            if (!await first.ConfigureAwait(false))
            {
                return;
            }
            // Closing completes the queue, which ends this wait without an exception (a thrown cancellation per node cost a
            // full deploy of 1,000 nodes 1,000 exceptions); messages still queued then are dropped, as before.
            do
            {
                while (!_closing.IsCancellationRequested)
                {
                    AcquireBusy();
                    // Closed while this loop waited for the node: nothing more is handled (CloseAsync relies on it).
                    if (_closing.IsCancellationRequested || !reader.TryRead(out var msg))
                    {
                        ReleaseBusy();
                        break;
                    }
                    if (Interlocked.Decrement(ref _queued) <= _engine.Options.QueueCapacity / 2 && Volatile.Read(ref _senderWaiting))
                    {
                        Volatile.Write(ref _senderWaiting, false);
                        Volatile.Read(ref _space)?.Set();
                    }
                    var timed = _inline.Off ? InlineGuard.Start(_engine.Time) : default;
                    var handled = HandleAsync(msg);
                    if (timed.Started != 0)
                    {
                        _inline.RanFromQueue(_engine.Time, InlineGuard.Took(_engine.Time, timed), _engine.Options.InlineBudget);
                    }
                    if (!handled.IsCompletedSuccessfully)
                    {
                        try
                        {
                            await handled;
                        }
                        finally
                        {
                            ReleaseBusy();
                        }
                        continue;
                    }
                    ReleaseBusy();
                }
            }
            while (!_closing.IsCancellationRequested && await reader.WaitToReadAsync());
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
    }

    private void AcquireBusy()
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) == 0)
        {
            return;
        }
        // A sender is running this node inline (briefly: inline nodes are cheap and synchronous).
        var spinner = default(SpinWait);
        while (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            spinner.SpinOnce(sleep1Threshold: 20);
        }
    }

    private void ReleaseBusy() => Volatile.Write(ref _busy, 0);

    /// <summary>Runs the node on the sender's thread when it is an inline node, idle, with nothing queued.</summary>
    private bool TryRunInline(FlowMessage msg)
    {
        if (t_inlineDepth >= MaxInlineDepth || Volatile.Read(ref _queued) != 0 || !Volatile.Read(ref _looping)
            || Instance is not { RunsInline: true } || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            return false;
        }
        // The guard's return is decided under the busy flag, as InlineGuard requires (its loop times runs under it too).
        if (Volatile.Read(ref _queued) != 0 || _closing.IsCancellationRequested || (_inline.Off && !ReturnInline()))
        {
            ReleaseBusy();
            return false;
        }
        // HandleAsync reports a node's failure as a node error; it does not throw.
        t_inlineDepth++;
        var time = _engine.Time;
        var started = InlineGuard.Start(time);
        ValueTask handled;
        try
        {
            handled = HandleAsync(msg);
        }
        finally
        {
            t_inlineDepth--;
        }
        var took = InlineGuard.Took(time, started);
        if (_inline.RanInline(time, took, _engine.Options.InlineBudget))
        {
            _engine.InlineTooSlow(this, took);
        }
        if (handled.IsCompleted)
        {
            ReleaseBusy();
        }
        else
        {
            _ = ReleaseWhenDoneAsync(handled);
        }
        return true;
    }

    /// <summary>Lets a node that was taken off its senders' threads back once it has run within budget for a while.</summary>
    private bool ReturnInline()
    {
        if (!_inline.TryReturn(_engine.Time))
        {
            return false;
        }
        _engine.InlineBack(this);
        return true;
    }

    private async Task ReleaseWhenDoneAsync(ValueTask handled)
    {
        try
        {
            await handled;
        }
        finally
        {
            ReleaseBusy();
        }
    }

    private async ValueTask HandleAsync(FlowMessage msg)
    {
        var node = Instance;
        if (node is null)
        {
            return;
        }
        _deferDone = false;
        Interlocked.Increment(ref _processed);
        EngineMetrics.CountIn(_counters);
        try
        {
            // Sends made while this node handles its input (the synchronous part) wait asynchronously for room in a full
            // queue (see Write): no thread is blocked, and the node takes no new input until they are delivered.
            var outer = t_handling;
            t_handling = this;
            ValueTask handled;
            try
            {
                handled = node.OnInputAsync(msg, _closing.Token);
            }
            finally
            {
                t_handling = outer;
            }
            await handled;
            if (_pending is { Count: > 0 })
            {
                await FlushPendingAsync();
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            return;
        }
#pragma warning disable CA1031 // Any failure of a node's input handler becomes a node error; the flow goes on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // The node's own exception (not a wrapper), logged with its stack; a script's error is the script's message.
            var cause = ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerExceptions[0] : ex;
            if (cause is Scripting.ScriptException { JsError: { } jsError })
            {
                Error(jsError, msg, null);
            }
            else if (cause is JsErrorException jsException)
            {
                Error(jsException.Error, msg, cause);
            }
            else
            {
                Error(cause.Message, msg, cause is Scripting.ScriptException ? null : cause);
            }
            return;
        }
        if (!_deferDone && Scope.HasCompleteObservers)
        {
            Done(msg);
        }
    }

    public async Task CloseAsync(bool removed)
    {
        await _closing.CancelAsync();
        _queue?.Complete();
        var node = Instance;
        if (node is not null)
        {
            try
            {
                var close = node.CloseAsync(removed);
                if (!close.IsCompleted)
                {
                    await close.AsTask().WaitAsync(_engine.Options.CloseTimeout);
                }
                else
                {
                    await close;
                }
            }
            catch (TimeoutException)
            {
                Logger.LogWarning("Node {Id} ({Type}) did not close within {Timeout}", Id, Type, _engine.Options.CloseTimeout);
            }
#pragma warning disable CA1031 // A node that fails to close is logged; the others still close.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Logger.LogWarning(ex, "Node {Id} ({Type}) failed to close", Id, Type);
            }
        }
        // A node nobody is running now never handles another message: whoever takes it next (its loop, or a sender running
        // it inline) sees it closed first. Only a node busy with a message is waited for: its loop ends once the message is
        // done (a full deploy of 1,000 idle nodes no longer waits for 1,000 loops to be scheduled before it answers). A
        // node stuck past the timeout is left behind (logged above).
        if (Interlocked.CompareExchange(ref _busy, 1, 0) == 0)
        {
            ReleaseBusy();
            return;
        }
        await _loop.WaitAsync(_engine.Options.CloseTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
