using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Storage;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Runtime.Tests.Engine;

/// <summary>
/// Built only when the test lets it (while <see cref="Hold"/> is set): a deploy whose new nodes take as long to start as the
/// test wants. Records which version of itself (its <c>v</c> property) handled each message; <c>fail</c> makes it fail to build.
/// </summary>
[NodeType("test-held-build", Category = "test")]
public sealed class HeldBuildNode : FlowNode
{
    public static readonly SemaphoreSlim Gate = new(0);
    public static readonly SemaphoreSlim Entered = new(0);
    public static readonly Channel<(string Version, FlowMessage Msg)> Handled = Channel.CreateUnbounded<(string, FlowMessage)>();
    public static volatile bool Hold;

    public HeldBuildNode(JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (Hold)
        {
            Entered.Release();
            Gate.Wait(FlowHarness.DefaultTimeout);
        }
        if (JsonTools.IsTruthy(config["fail"]))
        {
            throw new InvalidOperationException("cannot build this one");
        }
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        Handled.Writer.TryWrite(((string?)Node.Config["v"] ?? "", msg));
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A deploy answers once the changed nodes are stopped and their successors are in place; they are built and started after
/// (as Node-RED's <c>setFlows</c> answers before <c>start</c>). The rules a client can rely on meanwhile.
/// </summary>
public sealed class AnswerBeforeStartTests
{
    private static string Flow(string version, string extra = "", string injectTo = "out") => $$"""
        [{"id":"t","type":"tab"},
         {"id":"h","type":"test-held-build","z":"t","v":"{{version}}"{{extra}},"x":0,"y":0,"wires":[["out"]]},
         {"id":"i","type":"inject","z":"t","payload":"pressed","payloadType":"str","x":0,"y":0,"wires":[["{{injectTo}}"]]},
         {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """;

    private static async Task<FlowHarness> LoadAsync()
    {
        HeldBuildNode.Hold = false;
        while (HeldBuildNode.Handled.Reader.TryRead(out _))
        {
        }
        // Every deploy of these tests starts its nodes after it returns, however few.
        return await FlowHarness.LoadAsync(Flow("1"), o => o.StartAfterAnswerNodes = 1);
    }

    /// <summary>Deploys with the new node held in its constructor; returns once the build has begun.</summary>
    private static async Task<DeployProgress> BeginHeldAsync(FlowHarness harness, string flows, DeployType type = DeployType.Nodes)
    {
        HeldBuildNode.Hold = true;
        var progress = await harness.Engine.BeginDeployAsync(FlowDocument.Parse(flows), type, start: false).WaitAsync(FlowHarness.DefaultTimeout);
        Assert.True(await HeldBuildNode.Entered.WaitAsync(FlowHarness.DefaultTimeout));
        return progress;
    }

    private static void Release()
    {
        HeldBuildNode.Hold = false;
        HeldBuildNode.Gate.Release();
    }

    [Fact]
    public async Task A_message_sent_right_after_the_answer_waits_for_the_new_node_and_is_never_handled_by_the_old_one()
    {
        await using var harness = await LoadAsync();
        var old = harness.Engine.GetNode("h");
        Assert.NotNull(old);

        var progress = await BeginHeldAsync(harness, Flow("2"));

        // Answered: the old node is stopped and gone, the new one is being built and takes messages into its queue.
        Assert.Equal(1, progress.Stopped);
        Assert.False(progress.Started.IsCompleted);
        Assert.False(harness.Engine.Ready.IsCompleted);
        Assert.Equal(progress.Rev, harness.Engine.Rev);
        Assert.Null(harness.Engine.GetNode("h"));
        Assert.True(harness.Engine.Deliver("h", new FlowMessage(new JsonObject { ["payload"] = "early" })));
        Assert.False(HeldBuildNode.Handled.Reader.TryRead(out _));

        Release();
        var result = await progress.Started.WaitAsync(FlowHarness.DefaultTimeout);
        Assert.Equal(1, result.Started);
        await harness.Engine.Ready.WaitAsync(FlowHarness.DefaultTimeout);
        var (version, msg) = await HeldBuildNode.Handled.Reader.ReadAsync().AsTask().WaitAsync(FlowHarness.DefaultTimeout);
        Assert.Equal("2", version);
        Assert.Equal("early", (string?)msg.Payload);
        Assert.Equal("early", (string?)(await harness.NextAsync("out")).Payload);
        Assert.NotSame(old, harness.Engine.GetNode("h"));
    }

    [Fact]
    public async Task An_inject_press_right_after_the_answer_waits_until_the_nodes_run()
    {
        await using var harness = await LoadAsync();
        // A full deploy: the inject node is rebuilt too, after the held node.
        var progress = await BeginHeldAsync(harness, Flow("2"), DeployType.Full);

        Assert.False(harness.Engine.Inject("i"));
        var press = harness.Engine.InjectAsync("i");
        Assert.False(press.IsCompleted);

        Release();
        Assert.True(await press.WaitAsync(FlowHarness.DefaultTimeout));
        Assert.Equal("pressed", (string?)(await harness.NextAsync("out")).Payload);
        await progress.Started.WaitAsync(FlowHarness.DefaultTimeout);
    }

    [Fact]
    public async Task A_node_that_fails_to_build_after_the_answer_is_reported_and_wired_to_nobody()
    {
        await using var harness = await LoadAsync();
        var flows = Flow("2", extra: ",\"fail\":true", injectTo: "h");

        var progress = await BeginHeldAsync(harness, flows, DeployType.Full);
        Release();
        var result = await progress.Started.WaitAsync(FlowHarness.DefaultTimeout);

        Assert.Contains(result.Warnings, w => w.Contains("h (test-held-build) failed to start: cannot build this one", StringComparison.Ordinal));
        Assert.Contains(harness.Logs, l => l.Message.Contains("cannot build this one", StringComparison.Ordinal));
        Assert.Contains(harness.Engine.Warnings, w => w.Contains("cannot build this one", StringComparison.Ordinal));
        // The inject node was wired to the held node while it was being built; once it failed, nothing is sent to it.
        var inject = (FlowFleet.Runtime.Engine.RunningNode)harness.Engine.GetHost("i")!;
        Assert.Empty(inject.Wires[0]);
        Assert.Null(harness.Engine.GetNode("h"));
    }

    [Fact]
    public async Task A_deploy_sent_while_the_previous_one_starts_runs_after_it_and_checks_the_answered_rev()
    {
        var dir = Directory.CreateTempSubdirectory("ff-answer-").FullName;
        await using var harness = await LoadAsync();
        var flows = new FlowService(harness.Engine, new FileFlowStorage(Path.Combine(dir, "flows.json")));
        HeldBuildNode.Hold = true;
        var first = await flows.BeginDeployAsync(FlowDocument.Parse(Flow("2")), DeployType.Nodes, null, null).WaitAsync(FlowHarness.DefaultTimeout);
        Assert.True(await HeldBuildNode.Entered.WaitAsync(FlowHarness.DefaultTimeout));
        // Saved before the answer; served as the current flows while the nodes start.
        Assert.Equal(first.Rev, flows.Rev);
        Assert.Equal(first.Rev, FlowDocument.From(await new FileFlowStorage(Path.Combine(dir, "flows.json")).LoadAsync()).Rev);

        var stale = flows.DeployAsync(JsonNode.Parse(Flow("x"))!, DeployType.Nodes, "0123", null);
        var second = flows.DeployAsync(JsonNode.Parse(Flow("3"))!, DeployType.Nodes, first.Rev, null);
        Assert.False(second.IsCompleted);

        Release();
        await Assert.ThrowsAsync<FlowRevisionConflictException>(() => stale.WaitAsync(FlowHarness.DefaultTimeout));
        var deployed = await second.WaitAsync(FlowHarness.DefaultTimeout);
        Assert.True(first.Started.IsCompletedSuccessfully);
        Assert.Equal(deployed.Rev, harness.Engine.Rev);
        Assert.True(harness.Engine.Deliver("h", new FlowMessage(new JsonObject { ["payload"] = 1 })));
        var (version, _) = await HeldBuildNode.Handled.Reader.ReadAsync().AsTask().WaitAsync(FlowHarness.DefaultTimeout);
        Assert.Equal("3", version);
    }
}
