using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Runtime.Engine;

/// <summary>The engine's side of one node: its queue, its wires, and the <see cref="INodeHost"/> it hands the node.</summary>
internal sealed partial class RunningNode : INodeHost
{
    private readonly FlowEngine _engine;
    private readonly Channel<FlowMessage>? _queue;
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
            _queue = Channel.CreateBounded<FlowMessage>(new BoundedChannelOptions(engine.Options.QueueCapacity)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
        }
        NodeContext = engine.Contexts.Scope(ContextManager.NodeScope(spec.Alias, scope.Id));
        FlowContext = engine.Contexts.Scope(scope.Id);
        GlobalContext = engine.Contexts.Scope("global");
        Logger = engine.LoggerFactory.CreateLogger("FlowFleet.Node." + spec.Type);
    }

    public NodeSpec Spec { get; set; }

    public RuntimeScope Scope { get; set; }

    public FlowNode? Instance { get; set; }

    /// <summary>Targets per output port, swapped whole on each deploy.</summary>
    public RunningNode[][] Wires { get; set; } = [];

    public NodeStatus CurrentStatus { get; private set; } = NodeStatus.Clear;

    public long Processed => Interlocked.Read(ref _processed);

    public int QueueDepth => _queue?.Reader.CanCount == true ? _queue.Reader.Count : 0;

    public string Id => Spec.Id;

    public string Type => Spec.Type;

    public string? Name => Spec.Config["name"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

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
        if (_queue is not null)
        {
            _loop = Task.Run(RunAsync);
        }
    }

    private async Task RunAsync()
    {
        var reader = _queue!.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_closing.Token))
            {
                while (reader.TryRead(out var msg))
                {
                    await HandleAsync(msg);
                }
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
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
        _engine.Metrics.CountIn(Spec.Type);
        try
        {
            await node.OnInputAsync(msg, _closing.Token);
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            return;
        }
#pragma warning disable CA1031 // Any failure of a node's input handler becomes a node error; the flow goes on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Error(ex is AggregateException { InnerException: { } inner } ? inner.Message : ex.Message, msg);
            return;
        }
        if (!_deferDone && Scope.HasCompleteObservers)
        {
            Done(msg);
        }
    }

    /// <summary>Queues a message for this node; holds the sender back while the queue is full.</summary>
    public bool Enqueue(FlowMessage msg)
    {
        if (_queue is null || _closing.IsCancellationRequested)
        {
            return false;
        }
        if (_queue.Writer.TryWrite(msg))
        {
            return true;
        }
        _engine.Metrics.CountQueueFull(Spec.Type);
        // Senders are synchronous (scripts call node.send); hold this one back by spinning and yielding until the
        // consumer makes room, which costs far less than blocking on an async write per message.
        var spinner = default(SpinWait);
        var deadline = Environment.TickCount64 + (long)_engine.Options.QueueFullTimeout.TotalMilliseconds;
        while (!_closing.IsCancellationRequested)
        {
            spinner.SpinOnce(sleep1Threshold: 30);
            if (_queue.Writer.TryWrite(msg))
            {
                return true;
            }
            if (Environment.TickCount64 > deadline)
            {
                break;
            }
        }
        if (_closing.IsCancellationRequested)
        {
            return false;
        }
        Error($"Queue full ({_engine.Options.QueueCapacity} messages): message dropped", null);
        return false;
    }

    public async Task CloseAsync(bool removed)
    {
        await _closing.CancelAsync();
        _queue?.Writer.TryComplete();
        var node = Instance;
        if (node is not null)
        {
            try
            {
                var close = node.CloseAsync(removed).AsTask();
                if (await Task.WhenAny(close, Task.Delay(_engine.Options.CloseTimeout)) != close)
                {
                    Logger.LogWarning("Node {Id} ({Type}) did not close within {Timeout}", Id, Type, _engine.Options.CloseTimeout);
                }
                else
                {
                    await close;
                }
            }
#pragma warning disable CA1031 // A node that fails to close is logged; the others still close.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Logger.LogWarning(ex, "Node {Id} ({Type}) failed to close", Id, Type);
            }
        }
        await Task.WhenAny(_loop, Task.Delay(_engine.Options.CloseTimeout));

    }
}
