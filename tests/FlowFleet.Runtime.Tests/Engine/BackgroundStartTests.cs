using System.Text.Json.Nodes;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Storage;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Runtime.Tests.Engine;

/// <summary>Held in its constructor until the test opens the gate: a stored flow that takes as long to start as the test wants.</summary>
[NodeType("test-slow-start", Category = "test")]
public sealed class SlowStartNode : FlowNode
{
    public static readonly SemaphoreSlim Gate = new(0);

    public SlowStartNode() => Gate.Wait(FlowHarness.DefaultTimeout);
}

/// <summary>The stored flows start in the background at process start (the server answers meanwhile, as Node-RED does).</summary>
public sealed class BackgroundStartTests
{
    private const string Stored = """
        [{"id":"t","type":"tab"},{"id":"slow","type":"test-slow-start","z":"t","x":0,"y":0,"wires":[]}]
        """;

    /// <summary>A runtime over a fresh directory whose flows.json holds <paramref name="stored"/>, with its FlowService.</summary>
    private static async Task<ServiceProvider> StoredAsync(string stored)
    {
        var dir = Directory.CreateTempSubdirectory("ff-bgstart-").FullName;
        var storage = new FileFlowStorage(Path.Combine(dir, "flows.json"));
        await storage.SaveAsync((JsonArray)JsonNode.Parse(stored)!);
        var sc = new ServiceCollection();
        sc.AddLogging();
        sc.AddFlowRuntime(dir, typeof(SlowStartNode).Assembly);
        sc.AddSingleton(sp => new FlowService(sp.GetRequiredService<FlowEngine>(), storage));
        return sc.BuildServiceProvider();
    }

    [Fact]
    public async Task The_stored_document_is_served_at_once_and_a_deploy_waits_until_the_stored_nodes_run()
    {
        await using var provider = await StoredAsync(Stored);
        var engine = provider.GetRequiredService<FlowEngine>();
        var flows = provider.GetRequiredService<FlowService>();

        await flows.BeginStartAsync(safe: false);

        // Returned while the node is still being built: the document is known, its nodes are not running yet.
        Assert.False(flows.Starting.IsCompleted);
        Assert.Contains(flows.GetFlows().OfType<JsonObject>(), n => (string?)n["id"] == "slow");
        Assert.Null(engine.GetNode("slow"));

        // A deploy sent now runs after the start, so the start cannot overwrite it with the stored set.
        var deploy = flows.DeployAsync(JsonNode.Parse("""[{"id":"t","type":"tab"},{"id":"c","type":"test-counter","z":"t","x":0,"y":0,"wires":[]}]""")!, DeployType.Full);
        SlowStartNode.Gate.Release();
        var started = await flows.Starting.WaitAsync(FlowHarness.DefaultTimeout);
        Assert.Equal(1, started!.Started);
        var deployed = await deploy.WaitAsync(FlowHarness.DefaultTimeout);
        Assert.Equal(deployed.Rev, engine.Rev);
        Assert.NotNull(engine.GetNode("c"));
        Assert.Null(engine.GetNode("slow"));
    }

    [Fact]
    public async Task The_stored_nodes_are_built_only_once_the_given_task_completes()
    {
        await using var provider = await StoredAsync("""[{"id":"t","type":"tab"},{"id":"c","type":"test-counter","z":"t","x":0,"y":0,"wires":[]}]""");
        var engine = provider.GetRequiredService<FlowEngine>();
        var flows = provider.GetRequiredService<FlowService>();
        var listening = new TaskCompletionSource();

        await flows.BeginStartAsync(safe: false, buildAfter: listening.Task);

        // The server serves the document while it starts; the node is not built before the gate opens.
        Assert.Contains(flows.GetFlows().OfType<JsonObject>(), n => (string?)n["id"] == "c");
        await Assert.ThrowsAsync<TimeoutException>(() => flows.Starting.WaitAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Null(engine.GetNode("c"));

        listening.SetResult();
        var started = await flows.Starting.WaitAsync(FlowHarness.DefaultTimeout);
        Assert.Equal(1, started!.Started);
        Assert.NotNull(engine.GetNode("c"));
    }
}
