using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Runtime.Tests.Engine;

public sealed class RoutingTests
{
    [Fact]
    public async Task Fan_out_gives_the_first_wire_the_original_and_later_wires_clones()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"fn","type":"function","z":"t","func":"msg.payload.n = 1; return msg;","x":0,"y":0,"wires":[["a","b"]]},
         {"id":"a","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"b","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);
        h.Send("fn", new JsonObject { ["n"] = 0 });
        var a = await h.NextAsync("a");
        var b = await h.NextAsync("b");
        Assert.NotSame(a, b);
        Assert.NotSame(a.Data, b.Data);
        Assert.Equal(a.MsgId, b.MsgId);
        a.Data["payload"]!["n"] = 99;
        Assert.Equal(1, FlowFleet.Runtime.Messages.JsonTools.ToNumber(b.Data["payload"]!["n"]));
    }

    [Fact]
    public async Task A_node_handles_messages_one_at_a_time_in_arrival_order()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"c","type":"test-counter","z":"t","x":0,"y":0,"wires":[["out"]]},
         {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);
        for (var i = 0; i < 500; i++)
        {
            h.Send("c", JsonValue.Create(i));
        }
        var got = await h.TakeAsync("out", 500);
        Assert.Equal(Enumerable.Range(0, 500), got.Select(m => (int)FlowFleet.Runtime.Messages.JsonTools.ToNumber(m.Payload)));
        Assert.Equal(Enumerable.Range(1, 500), got.Select(m => (int)FlowFleet.Runtime.Messages.JsonTools.ToNumber(m.Data["count"])));
    }

    [Fact]
    public async Task Messages_get_a_16_hex_msgid()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"fn","type":"function","z":"t","func":"node.send({payload:1}); return null;","x":0,"y":0,"wires":[["out"]]},
         {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);
        h.Send("fn", JsonValue.Create(0));
        var m = await h.NextAsync("out");
        Assert.Matches("^[0-9a-f]{16}$", m.MsgId!);
    }

    [Fact]
    public async Task Disabled_nodes_and_disabled_tabs_do_not_run()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},{"id":"t2","type":"tab","disabled":true},
         {"id":"c","type":"test-counter","z":"t","d":true,"x":0,"y":0,"wires":[["out"]]},
         {"id":"c2","type":"test-counter","z":"t2","x":0,"y":0,"wires":[]},
         {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);
        Assert.Null(h.Engine.GetNode("c"));
        Assert.Null(h.Engine.GetNode("c2"));
        Assert.NotNull(h.Engine.GetNode("out"));
    }

    [Fact]
    public async Task A_full_queue_holds_the_sender_back_instead_of_growing()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"fn","type":"function","z":"t","func":"for (let i = 0; i < 2000; i++) node.send({payload:i}); return null;","x":0,"y":0,"wires":[["c"]]},
         {"id":"c","type":"test-counter","z":"t","x":0,"y":0,"wires":[["out"]]},
         {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """, o => o.QueueCapacity = 16);
        h.Send("fn", JsonValue.Create(0));
        var got = await h.TakeAsync("out", 2000);
        Assert.Equal(1999, FlowFleet.Runtime.Messages.JsonTools.ToNumber(got[^1].Payload));
        // Held back, not dropped: every message arrived although the queue holds 16.
        Assert.Equal(2000, got.Count);
        Assert.Equal(0, h.Engine.Metrics.ByType["test-counter"].Dropped);
        Assert.All(h.Engine.Nodes, n => Assert.True(n.QueueDepth <= 16));
    }
}
