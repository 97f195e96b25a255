using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Runtime.Tests.Engine;

public sealed class ObserverTests
{
    [Fact]
    public async Task Errors_reach_scoped_and_tab_wide_catches_but_not_other_tabs()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},{"id":"t2","type":"tab"},
         {"id":"f1","type":"test-fail","z":"t","x":0,"y":0,"wires":[]},
         {"id":"f2","type":"test-fail","z":"t","x":0,"y":0,"wires":[]},
         {"id":"scoped","type":"test-catch","z":"t","scope":["f1"],"x":0,"y":0,"wires":[["s"]]},
         {"id":"all","type":"test-catch","z":"t","scope":null,"x":0,"y":0,"wires":[["a"]]},
         {"id":"unc","type":"test-catch","z":"t","uncaught":true,"x":0,"y":0,"wires":[["u"]]},
         {"id":"other","type":"test-catch","z":"t2","x":0,"y":0,"wires":[["o"]]},
         {"id":"s","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"a","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"u","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"o","type":"helper","z":"t2","x":0,"y":0,"wires":[]}]
        """);
        h.Send("f2", JsonValue.Create("boom"));
        var caught = await h.NextAsync("a");
        Assert.Equal("failed: boom", caught.Data["error"]!["message"]!.GetValue<string>());
        Assert.Equal("f2", caught.Data["error"]!["source"]!["id"]!.GetValue<string>());
        Assert.Equal("test-fail", caught.Data["error"]!["source"]!["type"]!.GetValue<string>());
        await h.AssertNothingAsync("s");
        await h.AssertNothingAsync("u");
        await h.AssertNothingAsync("o");

        h.Send("f1", JsonValue.Create("x"));
        await h.NextAsync("s");
        await h.NextAsync("a");
    }

    [Fact]
    public async Task Uncaught_only_catch_gets_errors_no_other_catch_handled()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"f1","type":"test-fail","z":"t","x":0,"y":0,"wires":[]},
         {"id":"f2","type":"test-fail","z":"t","x":0,"y":0,"wires":[]},
         {"id":"scoped","type":"test-catch","z":"t","scope":["f1"],"x":0,"y":0,"wires":[["s"]]},
         {"id":"unc","type":"test-catch","z":"t","uncaught":true,"x":0,"y":0,"wires":[["u"]]},
         {"id":"s","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"u","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);
        h.Send("f2", JsonValue.Create("x"));
        await h.NextAsync("u");
        h.Send("f1", JsonValue.Create("x"));
        await h.NextAsync("s");
        await h.AssertNothingAsync("u");
    }

    [Fact]
    public async Task Status_changes_reach_status_nodes_with_their_source()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"st","type":"test-status","z":"t","name":"setter","x":0,"y":0,"wires":[]},
         {"id":"w","type":"test-statuswatch","z":"t","x":0,"y":0,"wires":[["o"]]},
         {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);
        h.Send("st", JsonValue.Create("running"));
        var m = await h.NextAsync("o");
        Assert.Equal("running", m.Data["status"]!["text"]!.GetValue<string>());
        Assert.Equal("green", m.Data["status"]!["fill"]!.GetValue<string>());
        Assert.Equal("st", m.Data["status"]!["source"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Complete_fires_when_a_watched_node_finishes_a_message()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"c","type":"test-counter","z":"t","x":0,"y":0,"wires":[]},
         {"id":"c2","type":"test-counter","z":"t","x":0,"y":0,"wires":[]},
         {"id":"done","type":"test-complete","z":"t","scope":["c"],"x":0,"y":0,"wires":[["o"]]},
         {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);
        h.Send("c2", JsonValue.Create(2));
        h.Send("c", JsonValue.Create(7));
        var m = await h.NextAsync("o");
        Assert.Equal(7, FlowFleet.Runtime.Messages.JsonTools.ToNumber(m.Payload));
        await h.AssertNothingAsync("o");
    }

    [Fact]
    public async Task A_runaway_script_is_stopped_and_reported_while_other_flows_keep_flowing()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},{"id":"t2","type":"tab"},
         {"id":"loop","type":"function","z":"t","func":"while(true){}","x":0,"y":0,"wires":[["never"]]},
         {"id":"catch","type":"test-catch","z":"t","x":0,"y":0,"wires":[["caught"]]},
         {"id":"never","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"caught","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"ok","type":"function","z":"t2","func":"msg.payload = msg.payload * 2; return msg;","x":0,"y":0,"wires":[["out"]]},
         {"id":"out","type":"helper","z":"t2","x":0,"y":0,"wires":[]}]
        """, o => o.Scripts.Timeout = TimeSpan.FromMilliseconds(500));
        h.Send("loop", JsonValue.Create(1));
        for (var i = 0; i < 20; i++)
        {
            h.Send("ok", JsonValue.Create(i));
            Assert.Equal(i * 2, FlowFleet.Runtime.Messages.JsonTools.ToNumber((await h.NextAsync("out")).Payload));
        }
        var caught = await h.NextAsync("caught");
        Assert.Contains("timed out", caught.Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await h.AssertNothingAsync("never");
        h.Send("loop", JsonValue.Create(2));
        await h.NextAsync("caught");
    }
}
