using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Runtime.Tests.Engine;

/// <summary>Holds its message (ignoring cancellation) until the test, or its own close, lets it go.</summary>
[NodeType("test-busy", Category = "test")]
public sealed class BusyNode : FlowNode
{
    public static readonly SemaphoreSlim Entered = new(0);
    public static readonly SemaphoreSlim Gate = new(0);
    public static volatile bool Done;

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        Entered.Release();
        await Gate.WaitAsync(FlowHarness.DefaultTimeout, CancellationToken.None);
        Done = true;
        Node.Send(msg);
    }

    // Lets the held message finish only once the deploy has begun to close this node.
    public override ValueTask CloseAsync(bool removed)
    {
        Gate.Release();
        return ValueTask.CompletedTask;
    }
}

/// <summary>What a deploy waits for when it stops nodes, and how the nodes left running are re-wired.</summary>
public sealed class DeployCloseTests
{
    [Fact]
    public async Task A_node_stopped_in_the_middle_of_a_message_finishes_it_before_the_deploy_completes()
    {
        const string flow = """
            [{"id":"t","type":"tab"},
             {"id":"b","type":"test-busy","z":"t","name":"one","x":0,"y":0,"wires":[["out"]]},
             {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """;
        BusyNode.Done = false;
        await using var h = await FlowHarness.LoadAsync(flow);
        h.Send("b", JsonValue.Create("held"));
        Assert.True(await BusyNode.Entered.WaitAsync(FlowHarness.DefaultTimeout));

        var doneWhenDeployed = await h.Engine.DeployAsync(JsonNode.Parse(flow.Replace("\"one\"", "\"two\"", StringComparison.Ordinal))!, DeployType.Nodes)
            .ContinueWith(_ => BusyNode.Done, TaskScheduler.Default).WaitAsync(FlowHarness.DefaultTimeout);

        Assert.True(doneWhenDeployed);
        Assert.Equal("held", (string?)(await h.NextAsync("out")).Payload);
    }

    [Fact]
    public async Task After_a_nodes_deploy_an_unchanged_sender_sends_to_the_new_node_and_other_chains_keep_running()
    {
        const string flow = """
            [{"id":"t","type":"tab"},
             {"id":"c1","type":"test-counter","z":"t","x":0,"y":0,"wires":[["c2"]]},
             {"id":"c2","type":"test-counter","z":"t","name":"one","x":0,"y":0,"wires":[["o"]]},
             {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]},
             {"id":"d1","type":"test-counter","z":"t","x":0,"y":0,"wires":[["o2"]]},
             {"id":"o2","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """;
        await using var h = await FlowHarness.LoadAsync(flow);
        h.Send("c1", JsonValue.Create(1));
        Assert.Equal(1, JsonTools.ToNumber((await h.NextAsync("o")).Data["count"]));
        h.Send("d1", JsonValue.Create(1));
        await h.NextAsync("o2");
        var c1 = h.Engine.GetNode("c1");

        await h.Engine.DeployAsync(JsonNode.Parse(flow.Replace("\"one\"", "\"two\"", StringComparison.Ordinal))!, DeployType.Nodes);

        Assert.Same(c1, h.Engine.GetNode("c1"));
        h.Send("c1", JsonValue.Create(2));
        // Counted by the new c2 (its first message), reached through the c1 that kept running.
        Assert.Equal(1, JsonTools.ToNumber((await h.NextAsync("o")).Data["count"]));
        Assert.Equal(2, ((CounterNode)c1!).Count);
        h.Send("d1", JsonValue.Create(2));
        Assert.Equal(2, JsonTools.ToNumber((await h.NextAsync("o2")).Data["count"]));
    }
}
