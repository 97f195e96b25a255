using System.Text.Json.Nodes;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Engine;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FlowFleet.Runtime;

/// <summary>How much of the running flows a deploy restarts (Node-RED's <c>Node-RED-Deployment-Type</c>).</summary>
public enum DeployType
{
    /// <summary>Stop everything, start everything.</summary>
    Full,

    /// <summary>Restart changed nodes and every node wired to them; a tab whose own properties changed restarts whole.</summary>
    Flows,

    /// <summary>Restart only changed and removed nodes.</summary>
    Nodes,
}

/// <summary>What a deploy did.</summary>
public sealed record DeployResult(string Rev, int Started, int Stopped, IReadOnlyList<string> Warnings);

/// <summary>
/// A deploy that has returned (<see cref="FlowEngine.BeginDeployAsync"/>): its changed nodes are stopped and their
/// successors take messages into their queues; <see cref="Started"/> completes once they run.
/// </summary>
public sealed record DeployProgress(string Rev, int Stopped, Task<DeployResult> Started);

/// <summary>A running node as seen from outside (admin API, metrics, editor).</summary>
public sealed record RunningNodeInfo(string Id, string Type, string? Name, string FlowId, NodeStatus Status, int QueueDepth, long Processed, bool Known);

/// <summary>
/// Runs a flow document: builds nodes through the registry, routes messages along wires, and applies deploys from a
/// diff of the old and new documents so unchanged nodes keep running with their state.
/// </summary>
public sealed partial class FlowEngine : IAsyncDisposable
{
    private readonly SemaphoreSlim _deployLock = new(1, 1);
    private Dictionary<string, RunningNode> _running = new(StringComparer.Ordinal);
    private Dictionary<string, NodeSpec> _specs = new(StringComparer.Ordinal);
    private List<string> _warnings = [];

    public FlowEngine(NodeRegistry registry, IServiceProvider services, ContextManager contexts, FlowEvents events,
        IOptions<FlowEngineOptions>? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(services);
        Registry = registry;
        Services = services;
        Contexts = contexts ?? throw new ArgumentNullException(nameof(contexts));
        Events = events ?? throw new ArgumentNullException(nameof(events));
        Options = options?.Value ?? new FlowEngineOptions();
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Logger = LoggerFactory.CreateLogger<FlowEngine>();
        Metrics.Publish(services.GetService(typeof(System.Diagnostics.Metrics.IMeterFactory)) as System.Diagnostics.Metrics.IMeterFactory, this);
    }

    public NodeRegistry Registry { get; }

    public IServiceProvider Services { get; }

    public ContextManager Contexts { get; }

    /// <summary>The global context, shared by every node.</summary>
    internal IContextScope GlobalContext => _globalContext ??= Contexts.Scope("global");

    private IContextScope? _globalContext;

    public FlowEvents Events { get; }

    public FlowEngineOptions Options { get; }

    public EngineMetrics Metrics { get; } = new();

    internal ILoggerFactory LoggerFactory { get; }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ILogger> _nodeLoggers = new(StringComparer.Ordinal);

    /// <summary>The logger of a node type (looked up once per type, not per node a deploy builds; no delegate per call).</summary>
    internal ILogger NodeLogger(string type) => _nodeLoggers.GetOrAdd(type, static (t, factory) => factory.CreateLogger("FlowFleet.Node." + t), LoggerFactory);

    private ILogger Logger { get; }

    private TimeProvider? _time;

    /// <summary>The host's clock (a FakeTimeProvider in tests): what an inline node's run is timed with.</summary>
    internal TimeProvider Time => _time ??= Services.GetService(typeof(TimeProvider)) as TimeProvider ?? TimeProvider.System;

    internal void InlineTooSlow(RunningNode node, TimeSpan took) =>
        Logger.LogWarning("{Type} node {Id} took {Ms} ms on its sender's thread (net of GC pauses; the second such run within a minute); it takes its messages from its own queue until it has run within the budget for a minute",
            node.Type, node.Id, (long)took.TotalMilliseconds);

    internal void InlineBack(RunningNode node) =>
        Logger.LogInformation("{Type} node {Id} ran within its inline budget for a minute; it runs on its senders' threads again", node.Type, node.Id);

    /// <summary>The deployed document (also while flows are stopped).</summary>
    public FlowDocument Current { get; private set; } = FlowDocument.Empty;

    public string Rev => Current.Rev;

    /// <summary>False after <see cref="StopFlowsAsync"/> (Node-RED's flows state <c>stop</c>).</summary>
    public bool Started { get; private set; } = true;

    /// <summary>Problems of the last deploy that did not stop it (unknown types, nodes that failed to start).</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    internal IEnumerable<RunningNode> Running => _running.Values;

    public IEnumerable<RunningNodeInfo> Nodes => _running.Values.Select(r =>
        new RunningNodeInfo(r.Id, r.Type, r.Name, r.FlowId, r.CurrentStatus, r.QueueDepth, r.Processed, r.Instance is not null));

    public FlowNode? GetNode(string id) => _running.GetValueOrDefault(id)?.Instance;

    public INodeHost? GetHost(string id) => _running.GetValueOrDefault(id);

    /// <summary>Validates and deploys flow JSON; an invalid document throws and changes nothing.</summary>
    public Task<DeployResult> DeployAsync(JsonNode flows, DeployType type = DeployType.Full, CancellationToken cancellationToken = default) =>
        DeployAsync(FlowDocument.From(flows), type, cancellationToken);

    public Task<DeployResult> DeployAsync(FlowDocument doc, DeployType type = DeployType.Full, CancellationToken cancellationToken = default) =>
        DeployAsync(doc, type, start: false, cancellationToken);

    /// <summary>Deploys; with <paramref name="start"/>, stopped flows start too (a deploy that leaves safe mode).</summary>
    public async Task<DeployResult> DeployAsync(FlowDocument doc, DeployType type, bool start, CancellationToken cancellationToken = default) =>
        await (await BeginDeployAsync(doc, type, start, cancellationToken)).Started;

    /// <summary>
    /// Deploys, and returns as soon as the changed nodes are stopped and their successors are in place, before those are
    /// built and started (Node-RED answers a deploy there too). From then on every message for a new node waits in its
    /// queue until the node runs, so none is lost or handled by a node that was replaced; <see cref="Ready"/> and
    /// <see cref="DeployProgress.Started"/> complete once the nodes run, and the next deploy (or stop) waits for that. A
    /// deploy that starts fewer than <see cref="FlowEngineOptions.StartAfterAnswerNodes"/> nodes starts them before it
    /// returns (building a few nodes costs less than handing them to another thread).
    /// </summary>
    public Task<DeployProgress> BeginDeployAsync(FlowDocument doc, DeployType type, bool start, CancellationToken cancellationToken = default) =>
        BeginDeployAsync(doc, type, start, saved: null, cancellationToken);

    /// <summary>
    /// <see cref="BeginDeployAsync(FlowDocument, DeployType, bool, CancellationToken)"/> beside the document's save: the
    /// deploy is planned and diffed while <paramref name="saved"/> runs and changes nothing until it has completed (a save
    /// that fails fails the deploy, and what runs stays as it was). Both halves of a deploy's answer path then share the two
    /// cores instead of running one after the other.
    /// </summary>
    public async Task<DeployProgress> BeginDeployAsync(FlowDocument doc, DeployType type, bool start, Task? saved, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(doc);
        await _deployLock.WaitAsync(cancellationToken);
        var handedOver = false;
        try
        {
            DeployTrace.Mark("engine locked");
            var newSpecs = DeployPlanner.Plan(doc);
            DeployTrace.Mark("planned");
            var changed = Started ? Changed(newSpecs, type) : newSpecs.Keys.ToHashSet(StringComparer.Ordinal);
            var stopping = _running.Values.Where(r => changed.Contains(r.Id) || !newSpecs.ContainsKey(r.Id)).ToList();
            DeployTrace.Mark("diffed");
            if (saved is not null)
            {
                await saved;
            }
            DeployTrace.Mark("save awaited");
            Started |= start;
            await CloseAsync(stopping, removedIds: _running.Keys.Where(k => !newSpecs.ContainsKey(k)).ToHashSet(StringComparer.Ordinal));
            // Nodes read groups and env from the new document while they are built.
            Current = doc;
            DeployTrace.Mark("closed");
            var pending = Started ? Prepare(newSpecs, changed) : null;
            DeployTrace.Mark("prepared");
            _specs = newSpecs;
            Contexts.Clean(ActiveScopes(newSpecs));
            Metrics.CountDeploy(type);
            Task<DeployResult> started;
            if (pending is null || pending.Created.Count < Options.StartAfterAnswerNodes)
            {
                started = Task.FromResult(Finish(pending, doc, type, stopping.Count));
            }
            else
            {
                var ready = new TaskCompletionSource<DeployResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                _ready = ready.Task;
                started = ready.Task;
                // The background start releases the deploy lock.
                handedOver = true;
                _ = Task.Run(() => FinishInBackground(ready, pending, doc, type, stopping.Count), CancellationToken.None);
            }
            DeployTrace.Mark(pending is null || pending.Created.Count < Options.StartAfterAnswerNodes ? "nodes started" : "start handed over");
            return new DeployProgress(doc.Rev, stopping.Count, started);
        }
        finally
        {
            if (!handedOver)
            {
                _deployLock.Release();
            }
        }
    }

    private Task _ready = Task.CompletedTask;

    /// <summary>Completes when the nodes of the last deploy run (at once when no deploy is starting nodes).</summary>
    public Task Ready => _ready;

    private void FinishInBackground(TaskCompletionSource<DeployResult> ready, PendingStart pending, FlowDocument doc, DeployType type, int stopped)
    {
        try
        {
            ready.SetResult(Finish(pending, doc, type, stopped));
        }
#pragma warning disable CA1031 // Nodes that fail to start are warnings; anything else is the deploy's failure, reported to whoever awaits it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Logger.LogError(ex, "Starting the nodes of rev {Rev} failed", doc.Rev);
            ready.SetException(ex);
        }
        finally
        {
            _deployLock.Release();
        }
    }

    /// <summary>Builds and starts the deploy's new nodes, then tells the editor and the other listeners.</summary>
    private DeployResult Finish(PendingStart? pending, FlowDocument doc, DeployType type, int stopped)
    {
        var result = pending is null ? (Started: 0, Warnings: new List<string>()) : Start(pending);
        Events.Deployed.Publish(doc.Rev);
        Logger.LogInformation("Deployed {Type}: {Started} started, {Stopped} stopped, rev {Rev}", type, result.Started, stopped, doc.Rev[..8]);
        return new DeployResult(doc.Rev, result.Started, stopped, result.Warnings);
    }

    /// <summary>Stops every node but keeps the document (Node-RED's <c>POST /flows/state {state:"stop"}</c>).</summary>
    public async Task StopFlowsAsync()
    {
        await _deployLock.WaitAsync();
        try
        {
            await CloseAsync(_running.Values.ToList(), new HashSet<string>(StringComparer.Ordinal));
            Started = false;
        }
        finally
        {
            _deployLock.Release();
        }
    }

    public async Task StartFlowsAsync()
    {
        await _deployLock.WaitAsync();
        try
        {
            if (Started)
            {
                return;
            }
            Started = true;
            Start(Prepare(_specs, _specs.Keys.ToHashSet(StringComparer.Ordinal)));
        }
        finally
        {
            _deployLock.Release();
        }
    }

    /// <summary>Presses an inject node's button; false when there is no such injectable node.</summary>
    public bool Inject(string nodeId, JsonArray? props = null)
    {
        if (GetNode(nodeId) is IInjectable injectable)
        {
            injectable.Inject(props);
            return true;
        }
        return false;
    }

    /// <summary>
    /// Presses an inject node's button once the nodes of the last deploy run: a press right after a deploy answered is
    /// not lost while the node is still being built.
    /// </summary>
    public async Task<bool> InjectAsync(string nodeId, JsonArray? props = null)
    {
        await Ready.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return Inject(nodeId, props);
    }

    /// <summary>The running node, once the nodes of the last deploy run (null when there is no such node, or it failed to start).</summary>
    public async Task<FlowNode?> GetNodeAsync(string id)
    {
        await Ready.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return GetNode(id);
    }

    /// <summary>Delivers a message to a node's input as if a wire brought it.</summary>
    public bool Deliver(string nodeId, FlowMessage msg) => _running.TryGetValue(nodeId, out var r) && r.Enqueue(msg);

    public async ValueTask DisposeAsync()
    {
        await _deployLock.WaitAsync();
        try
        {
            await CloseAsync(_running.Values.ToList(), new HashSet<string>(StringComparer.Ordinal));
        }
        finally
        {
            _deployLock.Release();
        }
        await Contexts.FlushAsync();
    }
}
