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

    public FlowEvents Events { get; }

    public FlowEngineOptions Options { get; }

    public EngineMetrics Metrics { get; } = new();

    internal ILoggerFactory LoggerFactory { get; }

    private ILogger Logger { get; }

    private TimeProvider? _time;

    /// <summary>The host's clock (a FakeTimeProvider in tests): what an inline node's run is timed with.</summary>
    internal TimeProvider Time => _time ??= Services.GetService(typeof(TimeProvider)) as TimeProvider ?? TimeProvider.System;

    internal void InlineTooSlow(RunningNode node, TimeSpan took) =>
        Logger.LogWarning("{Type} node {Id} took {Ms} ms on its sender's thread; it takes its messages from its own queue from now on",
            node.Type, node.Id, (long)took.TotalMilliseconds);

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
    public async Task<DeployResult> DeployAsync(FlowDocument doc, DeployType type, bool start, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(doc);
        await _deployLock.WaitAsync(cancellationToken);
        try
        {
            var newSpecs = DeployPlanner.Plan(doc);
            var wasStarted = Started;
            Started |= start;
            var changed = wasStarted ? Changed(newSpecs, type) : newSpecs.Keys.ToHashSet(StringComparer.Ordinal);
            var stopping = _running.Values.Where(r => changed.Contains(r.Id) || !newSpecs.ContainsKey(r.Id)).ToList();
            await CloseAsync(stopping, removedIds: _running.Keys.Where(k => !newSpecs.ContainsKey(k)).ToHashSet(StringComparer.Ordinal));
            // Nodes read groups and env from the new document while they are built.
            Current = doc;
            var result = Started ? Build(newSpecs, changed) : (Started: 0, Warnings: new List<string>());
            _specs = newSpecs;
            Contexts.Clean(ActiveScopes(newSpecs));
            Metrics.CountDeploy(type);
            Events.Deployed.Publish(doc.Rev);
            Logger.LogInformation("Deployed {Type}: {Started} started, {Stopped} stopped, rev {Rev}", type, result.Started, stopping.Count, doc.Rev[..8]);
            return new DeployResult(doc.Rev, result.Started, stopping.Count, result.Warnings);
        }
        finally
        {
            _deployLock.Release();
        }
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
            Build(_specs, _specs.Keys.ToHashSet(StringComparer.Ordinal));
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
