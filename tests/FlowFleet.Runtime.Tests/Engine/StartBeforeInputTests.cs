using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Runtime.Tests.Engine;

/// <summary>Its <c>StartAsync</c> waits (while <see cref="Hold"/> is set) until the test lets it go on.</summary>
[NodeType("test-held-start", Category = "test")]
public sealed class HeldStartNode : FlowNode
{
    public static readonly SemaphoreSlim Gate = new(0);
    public static readonly SemaphoreSlim Entered = new(0);
    public static volatile bool Hold;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (Hold)
        {
            Entered.Release();
            Gate.Wait(FlowHarness.DefaultTimeout, cancellationToken);
        }
        return Task.CompletedTask;
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>
/// A node takes no message before its <c>StartAsync</c> has run (a change or switch node prepares its rules there). A deploy
/// that answers before its nodes start queues the messages sent meanwhile; they must reach the node once it is started,
/// not while the deploy is still starting the nodes before it.
/// </summary>
public sealed class StartBeforeInputTests
{
    private const string Flows = """
        [{"id":"t","type":"tab"},
         {"id":"hs","type":"test-held-start","z":"t","x":0,"y":0,"wires":[]},
         {"id":"c","type":"change","z":"t","rules":[{"t":"set","p":"payload","pt":"msg","to":"changed","tot":"str"}],"x":0,"y":0,"wires":[["out"]]},
         {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """;

    [Fact]
    public async Task A_message_queued_while_the_deploy_starts_is_handled_after_its_node_started()
    {
        HeldStartNode.Hold = false;
        await using var harness = await FlowHarness.LoadAsync("""[{"id":"t","type":"tab"}]""", o => o.StartAfterAnswerNodes = 1);
        HeldStartNode.Hold = true;
        try
        {
            var progress = await harness.Engine.BeginDeployAsync(FlowDocument.Parse(Flows), DeployType.Full, start: false).WaitAsync(FlowHarness.DefaultTimeout);
            // The deploy is starting its nodes in order: "hs" is held in StartAsync, "c" (built) waits for its turn.
            Assert.True(await HeldStartNode.Entered.WaitAsync(FlowHarness.DefaultTimeout));
            Assert.True(harness.Engine.Deliver("c", new FlowMessage(new JsonObject { ["payload"] = "early" })));

            HeldStartNode.Hold = false;
            HeldStartNode.Gate.Release();
            await progress.Started.WaitAsync(FlowHarness.DefaultTimeout);
            Assert.Equal("changed", (string?)(await harness.NextAsync("out")).Payload);
        }
        finally
        {
            HeldStartNode.Hold = false;
        }
    }
}
