using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Runtime.Tests.Harness;

/// <summary>
/// Loads flow JSON into a real engine with the core nodes plus <c>helper</c> capture nodes, and waits for what
/// arrives at them (Node-RED's <c>helper.load</c>).
/// </summary>
public sealed class FlowHarness : IAsyncDisposable
{
    // A bound for a failing test, not a speed check: generous because CI runs every project at once on two cores.
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private readonly ServiceProvider _services;
    private readonly List<IDisposable> _subscriptions = [];

    private FlowHarness(ServiceProvider services, string dataDir)
    {
        _services = services;
        DataDir = dataDir;
        Engine = services.GetRequiredService<FlowEngine>();
        Events = services.GetRequiredService<FlowEvents>();
        _subscriptions.Add(Events.Debug.Subscribe(Debug.Enqueue));
        _subscriptions.Add(Events.Log.Subscribe(Logs.Enqueue));
    }

    public FlowEngine Engine { get; }

    public FlowEvents Events { get; }

    public string DataDir { get; }

    public ConcurrentQueue<DebugMessage> Debug { get; } = new();

    public ConcurrentQueue<NodeLogEntry> Logs { get; } = new();

    /// <summary>Starts an engine with the given flows. Extra node assemblies and services may be added.</summary>
    public static async Task<FlowHarness> LoadAsync(string flowsJson, Action<FlowEngineOptions>? configure = null,
        Action<IServiceCollection>? services = null, params Assembly[] nodeAssemblies)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "flowfleet-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        var sc = new ServiceCollection();
        sc.AddLogging();
        var assemblies = new[] { typeof(CaptureNode).Assembly, CoreNodesAssembly }.Concat(nodeAssemblies).Distinct().ToArray();
        sc.AddFlowRuntime(dataDir, assemblies);
        if (configure is not null)
        {
            sc.Configure(configure);
        }
        services?.Invoke(sc);
        var provider = sc.BuildServiceProvider();
        var harness = new FlowHarness(provider, dataDir);
        await harness.Engine.DeployAsync(JsonNode.Parse(flowsJson)!);
        return harness;
    }

    /// <summary>One helper node on a tab with env <c>SITE=plant-1</c> and a memory context store: what evaluates expressions and
    /// typed inputs as a node does.</summary>
    public static async Task<(FlowHarness Harness, INodeHost Node)> LoadHelperNodeAsync()
    {
        var harness = await LoadAsync("""
            [{"id":"t","type":"tab","env":[{"name":"SITE","type":"str","value":"plant-1"}]},
             {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """, o => o.ContextStorage["memory"] = new ContextStoreOptions(), services: null);
        return (harness, harness.Engine.GetHost("o")!);
    }

    /// <summary>The core node types (<c>FlowFleet.Nodes.Core</c>).</summary>
    public static Assembly CoreNodesAssembly { get; } = Assembly.Load("FlowFleet.Nodes.Core");

    public CaptureNode Capture(string id) =>
        Engine.GetNode(id) as CaptureNode ?? throw new InvalidOperationException($"No helper node {id}");

    /// <summary>The next message that reaches helper node <paramref name="id"/>; fails after the timeout.</summary>
    public async Task<FlowMessage> NextAsync(string id, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await Capture(id).Received.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No message reached {id} within {(timeout ?? DefaultTimeout).TotalSeconds} s. " +
                $"Logs: {string.Join(" | ", Logs.Select(l => $"{l.Type}:{l.Level}:{l.Message}"))}");
        }
    }

    /// <summary>The first log entry that matches, waiting for it (signalled, not polled) up to the timeout.</summary>
    public async Task<NodeLogEntry> WaitForLogAsync(Func<NodeLogEntry, bool> match, TimeSpan? timeout = null)
    {
        var found = new TaskCompletionSource<NodeLogEntry>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = Events.Log.Subscribe(e =>
        {
            if (match(e))
            {
                found.TrySetResult(e);
            }
        });
        if (Logs.FirstOrDefault(match) is { } logged)
        {
            return logged;
        }
        try
        {
            return await found.Task.WaitAsync(timeout ?? DefaultTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No matching log within {(timeout ?? DefaultTimeout).TotalSeconds} s. " +
                $"Logs: {string.Join(" | ", Logs.Select(l => $"{l.Type}:{l.Level}:{l.Message}"))}");
        }
    }

    /// <summary>The next message that reaches helper node <paramref name="id"/> within <paramref name="wait"/>, or null.</summary>
    public async Task<FlowMessage?> TryNextAsync(string id, TimeSpan wait)
    {
        using var cts = new CancellationTokenSource(wait);
        try
        {
            return await Capture(id).Received.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async Task<List<FlowMessage>> TakeAsync(string id, int count, TimeSpan? timeout = null)
    {
        var list = new List<FlowMessage>();
        for (var i = 0; i < count; i++)
        {
            list.Add(await NextAsync(id, timeout));
        }
        return list;
    }

    /// <summary>Asserts that nothing reaches helper <paramref name="id"/> within <paramref name="wait"/>.</summary>
    public async Task AssertNothingAsync(string id, TimeSpan? wait = null)
    {
        using var cts = new CancellationTokenSource(wait ?? TimeSpan.FromMilliseconds(300));
        try
        {
            var msg = await Capture(id).Received.ReadAsync(cts.Token);
            Assert.Fail($"Expected no message at {id}, got {msg}");
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Proves that nothing reached helper <paramref name="id"/> before this call, without a waiting window: a marker
    /// delivered straight to the helper must be the next message out, since its input queue is first in, first out.
    /// Every send made before the call (such as those of the timers a <c>FakeTimeProvider</c> advance fired) is ahead of it.
    /// </summary>
    public async Task AssertNothingYetAsync(string id)
    {
        var marker = FlowMessage.Create(JsonValue.Create("marker " + Guid.NewGuid().ToString("N")));
        Send(id, marker);
        var next = await NextAsync(id);
        Assert.True(next.MsgId == marker.MsgId, $"Expected nothing at {id} yet, got {next}");
    }

    /// <summary>
    /// Proves that the messages already sent to <paramref name="nodeId"/> sent nothing to helper <paramref name="id"/>: a probe
    /// sent after them, which the node passes on, must be the next message there. A node handles its input in order, so
    /// anything the earlier messages sent is queued ahead of the probe's.
    /// </summary>
    public async Task AssertNothingBeforeAsync(string id, string nodeId, string probeJson)
    {
        var probe = new FlowMessage((JsonObject)JsonNode.Parse(probeJson)!);
        probe.MsgId ??= MessageId.New();
        Send(nodeId, probe);
        var next = await NextAsync(id);
        Assert.True(next.MsgId == probe.MsgId, $"Expected nothing at {id} before the probe {probe}, got {next}");
    }

    /// <summary>Sends a message into a node's input.</summary>
    public void Send(string nodeId, FlowMessage msg)
    {
        if (!Engine.Deliver(nodeId, msg))
        {
            throw new InvalidOperationException($"Node {nodeId} is not running or has no input");
        }
    }

    public void Send(string nodeId, JsonNode? payload, string? topic = null) => Send(nodeId, FlowMessage.Create(payload, topic));

    /// <summary>Sends a message given as JSON text (<c>{"payload":1,"topic":"t"}</c>).</summary>
    public void SendJson(string nodeId, string json) => Send(nodeId, new FlowMessage((JsonObject)JsonNode.Parse(json)!));

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _subscriptions)
        {
            s.Dispose();
        }
        await Engine.DisposeAsync();
        await _services.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
