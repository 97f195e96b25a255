using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Nodes;

/// <summary>
/// A running node, the counterpart of Node-RED's <c>createNode(this, n)</c> + <c>on('input')</c> + <c>on('close')</c>.
/// Built by the node factory (constructor parameters come from DI, plus the <see cref="INodeHost"/> and the config
/// record); the engine delivers one message at a time, in arrival order.
/// </summary>
public abstract class FlowNode
{
    private INodeHost? _node;

    /// <summary>The engine side of this node: send, error, status, contexts, env (Node-RED's <c>node</c>).</summary>
    public INodeHost Node
    {
        get => _node ?? throw new InvalidOperationException("The node is not attached to a flow yet.");
        internal set => _node = value;
    }

    /// <summary>Called once every node of the deploy exists and is wired (sources start sending here).</summary>
    public virtual Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Handles one message. Throwing reports the error to catch nodes with this message.</summary>
    public virtual ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// True for cheap nodes whose <see cref="OnInputAsync"/> finishes synchronously (change, switch): a sender may then run
    /// the node on its own thread instead of queueing the message, when the node is idle with nothing queued. Messages
    /// still pass through the node one at a time and in order.
    /// </summary>
    public virtual bool RunsInline => false;

    /// <summary>Releases timers and connections. <paramref name="removed"/> is true when the node left the flows.</summary>
    public virtual ValueTask CloseAsync(bool removed) => ValueTask.CompletedTask;
}

/// <summary>A node with a typed config record deserialized from its flow JSON.</summary>
public abstract class FlowNode<TConfig> : FlowNode where TConfig : class
{
    private TConfig? _config;

    public TConfig Config
    {
        get => _config ?? throw new InvalidOperationException("Config is not set yet.");
        internal set => _config = value;
    }
}

/// <summary>A node that can be triggered from outside (the inject button, <c>POST /inject/:id</c>).</summary>
public interface IInjectable
{
    /// <summary>Injects once; <paramref name="overrideProps"/> replaces the configured props when given.</summary>
    void Inject(System.Text.Json.Nodes.JsonArray? overrideProps);
}

/// <summary>Scope of a catch, status or complete node: all nodes of its flow, listed ids, or its group.</summary>
public interface IScopedObserver
{
    /// <summary>Null for every node of the flow; else the ids observed.</summary>
    IReadOnlyCollection<string>? Scope { get; }

    /// <summary>True when the scope is the observer's group (Node-RED's <c>scope: "group"</c>).</summary>
    bool GroupScope => false;
}

/// <summary>Receives errors (Node-RED's <c>catch</c>).</summary>
public interface ICatchObserver : IScopedObserver
{
    /// <summary>Catches only errors no other catch node handled.</summary>
    bool UncaughtOnly { get; }
}

/// <summary>Receives status changes (Node-RED's <c>status</c>).</summary>
public interface IStatusObserver : IScopedObserver;

/// <summary>Receives completed messages (Node-RED's <c>complete</c>).</summary>
public interface ICompleteObserver : IScopedObserver;

/// <summary>Receives messages returned through a <c>link out</c> in return mode (Node-RED's <c>link call</c>).</summary>
public interface ILinkReturnTarget
{
    void OnLinkReturn(FlowMessage msg);
}
