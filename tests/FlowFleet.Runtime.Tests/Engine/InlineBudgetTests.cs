using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Runtime.Tests.Engine;

/// <summary>
/// Cheap nodes run on their sender's thread, which for device events is the thread reading every device's socket: a node
/// that turns out slow there (a catastrophic regex on device data) must stop running there — but not after one run the
/// machine made slow (a preempted thread, a GC pause), and not for good once it is fast again (see InlineGuard).
/// </summary>
public sealed class InlineBudgetTests
{
    private const string Flow = """
        [{"id":"t","type":"tab"},
         {"id":"src","type":"test-source","z":"t","x":0,"y":0,"wires":[["cheap"]]},
         {"id":"cheap","type":"test-timed-inline","z":"t","x":0,"y":0,"wires":[["out"]]},
         {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """;

    // Over the 100 ms budget with room for a real GC pause the guard takes off the fake clock's time.
    private const int Slow = 250;

    [Fact]
    public async Task A_node_that_took_longer_than_the_budget_twice_within_a_minute_takes_later_messages_from_its_queue()
    {
        await using var h = await StartAsync();
        var (source, node) = ((SourceNode)h.Engine.GetNode("src")!, (TimedInlineNode)h.Engine.GetNode("cheap")!);

        // Within the budget: run on the sender's own thread, message after message.
        Assert.True(await RanInsideEmit(source, node, 0, h));
        Assert.True(await RanInsideEmit(source, node, 0, h));
        // One message takes 250 ms (of the fake clock) on the sender's thread: one strike, it stays ...
        Assert.True(await RanInsideEmit(source, node, Slow, h));
        Assert.True(await RanInsideEmit(source, node, 0, h));
        // ... a second one within the minute takes it off ...
        node.Clock!.Advance(TimeSpan.FromSeconds(50));
        Assert.True(await RanInsideEmit(source, node, Slow, h));
        // ... so the next ones are handled by the node's own loop, not by the sender.
        Assert.False(await RanInsideEmit(source, node, 0, h));
        Assert.False(await RanInsideEmit(source, node, 0, h));
    }

    [Fact]
    public async Task A_node_slow_once_in_a_while_keeps_running_on_its_senders_thread()
    {
        await using var h = await StartAsync();
        var (source, node) = ((SourceNode)h.Engine.GetNode("src")!, (TimedInlineNode)h.Engine.GetNode("cheap")!);

        for (var i = 0; i < 3; i++)
        {
            // A slow run (a preempted thread on a loaded machine) every two minutes is not a slow node.
            Assert.True(await RanInsideEmit(source, node, Slow, h));
            Assert.True(await RanInsideEmit(source, node, 0, h));
            node.Clock!.Advance(TimeSpan.FromMinutes(2));
        }
        Assert.True(await RanInsideEmit(source, node, 0, h));
    }

    [Fact]
    public async Task A_node_taken_off_returns_after_a_minute_and_leaves_again_at_its_next_slow_run()
    {
        await using var h = await StartAsync();
        var (source, node) = ((SourceNode)h.Engine.GetNode("src")!, (TimedInlineNode)h.Engine.GetNode("cheap")!);
        Assert.True(await RanInsideEmit(source, node, Slow, h));
        Assert.True(await RanInsideEmit(source, node, Slow, h));

        // A minute later (no slow run from its queue meanwhile) it runs on the sender's thread again ...
        node.Clock!.Advance(TimeSpan.FromSeconds(61));
        Assert.True(await RanInsideEmit(source, node, 0, h));
        Assert.True(await RanInsideEmit(source, node, 0, h));
        // ... on probation: one slow run takes it off again at once.
        Assert.True(await RanInsideEmit(source, node, Slow, h));
        Assert.False(await RanInsideEmit(source, node, 0, h));
    }

    [Fact]
    public async Task A_node_within_the_budget_keeps_running_on_its_senders_thread()
    {
        await using var h = await StartAsync();
        var (source, node) = ((SourceNode)h.Engine.GetNode("src")!, (TimedInlineNode)h.Engine.GetNode("cheap")!);

        for (var i = 0; i < 5; i++)
        {
            Assert.True(await RanInsideEmit(source, node, 99, h));
        }
    }

    /// <summary>The flow with a 100 ms budget, its cheap node timed by a fake clock it advances itself.</summary>
    private static async Task<FlowHarness> StartAsync()
    {
        var clock = new FakeTimeProvider();
        var h = await FlowHarness.LoadAsync(Flow, o => o.InlineBudget = TimeSpan.FromMilliseconds(100),
            sc => sc.AddSingleton<TimeProvider>(clock));
        ((TimedInlineNode)h.Engine.GetNode("cheap")!).Clock = clock;
        return h;
    }

    /// <summary>Whether the node ran on the sender's thread while the sender's send was under way.</summary>
    private static async Task<bool> RanInsideEmit(SourceNode source, TimedInlineNode node, int takesMs, FlowHarness h)
    {
        ValueTask sent;
        TimedInlineNode.Emitting = true;
        try
        {
            sent = source.Emit(takesMs);
        }
        finally
        {
            TimedInlineNode.Emitting = false;
        }
        await sent.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var msg = (await h.TakeAsync("out", 1)).Single();
        Assert.Equal(takesMs, (int)JsonTools.ToNumber(msg.Payload));
        return await node.RanInside.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
    }
}

/// <summary>
/// A cheap (inline) node whose run "takes" payload milliseconds of the test's clock; reports whether it ran inside the test's
/// send (on the sending thread, before the send returned).
/// </summary>
[NodeType("test-timed-inline", Category = "test")]
public sealed class TimedInlineNode : FlowNode
{
    public FakeTimeProvider? Clock { get; set; }

    [ThreadStatic]
    public static bool Emitting;

    public System.Threading.Channels.Channel<bool> RanInside { get; } = System.Threading.Channels.Channel.CreateUnbounded<bool>();

    public override bool RunsInline => true;

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        RanInside.Writer.TryWrite(Emitting);
        Clock?.Advance(TimeSpan.FromMilliseconds(JsonTools.ToNumber(msg.Payload)));
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}
