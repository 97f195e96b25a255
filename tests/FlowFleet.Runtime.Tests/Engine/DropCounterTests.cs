using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Tests.Engine;

public sealed class DropCounterTests
{
    [Fact]
    public async Task Messages_dropped_from_a_full_queue_are_counted_per_node_type()
    {
        // The consumer is busy until the sender has sent all 40; its queue holds 4, so the rest are dropped. The sender
        // waits 25 ms per message for room: long enough that the helper (queue of 4 too) always drains the five it gets in
        // time on a loaded machine (with 1 ms it sometimes dropped one of them too), short enough to keep the test quick.
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"fn","type":"function","z":"t","func":"for (let i = 0; i < 40; i++) node.send({payload:i}); global.set('go', true); return null;","x":0,"y":0,"wires":[["slow"]]},
         {"id":"slow","type":"function","z":"t","func":"while (!global.get('go')) {} return msg;","x":0,"y":0,"wires":[["out"]]},
         {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """, o => { o.QueueCapacity = 4; o.QueueFullTimeout = TimeSpan.FromMilliseconds(25); });
        h.Send("fn", JsonValue.Create(0));
        // The slow node takes one and queues four, so at least one arrives; on a loaded machine the helper's own queue may
        // overflow too. Whatever was not received must have been counted as dropped under the type of the node that dropped it.
        var received = new List<FlowMessage> { await h.NextAsync("out") };
        while (await h.TryNextAsync("out", TimeSpan.FromMilliseconds(500)) is { } more)
        {
            received.Add(more);
        }
        Assert.InRange(received.Count, 1, 5);
        Assert.True(h.Engine.Metrics.ByType["function"].Dropped >= 35 - (5 - received.Count));
        Assert.Equal(40 - received.Count, h.Engine.Metrics.ByType.Values.Sum(c => c.Dropped));
    }
}
