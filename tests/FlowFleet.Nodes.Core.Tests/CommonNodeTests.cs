using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Common;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

public sealed class CommonNodeTests
{
    [Fact]
    public async Task Inject_sends_typed_props_on_the_button_and_override_props_replace_them()
    {
        await using var h = await Flows.One("""{"type":"inject","props":[{"p":"payload","v":"42","vt":"num"},{"p":"topic","v":"t1","vt":"str"},{"p":"extra.a","v":"{\"x\":1}","vt":"json"}],"repeat":"","once":false}""");
        Assert.True(h.Engine.Inject("n"));
        var m = await h.NextAsync("o0");
        Assert.Equal(42, Flows.Num(m.Payload));
        Assert.Equal("t1", m.Topic);
        Assert.Equal("""{"x":1}""", m.Data["extra"]!["a"]!.ToJsonString());
        h.Engine.Inject("n", JsonNode.Parse("""[{"p":"payload","v":"manual","vt":"str"}]""")!.AsArray());
        var o = await h.NextAsync("o0");
        Assert.Equal("manual", o.Payload!.GetValue<string>());
        Assert.Null(o.Topic);
    }

    [Fact]
    public async Task Inject_once_fires_after_its_delay_and_repeat_keeps_firing()
    {
        await using var h = await Flows.One("""{"type":"inject","props":[{"p":"payload"}],"payload":"","payloadType":"date","repeat":"0.05","once":true,"onceDelay":0.01}""");
        var first = await h.NextAsync("o0");
        Assert.True(Flows.Num(first.Payload) > 1.7e12);
        await h.TakeAsync("o0", 3);
    }

    [Fact]
    public async Task Inject_props_without_values_take_the_node_payload_and_topic_as_node_red_does()
    {
        await using var h = await Flows.One("""{"type":"inject","props":[{"p":"payload"},{"p":"topic","vt":"str"}],"payload":"12","payloadType":"num","topic":"kitchen"}""");
        h.Engine.Inject("n");
        var m = await h.NextAsync("o0");
        Assert.Equal(12, Flows.Num(m.Payload));
        Assert.Equal("kitchen", m.Topic);
    }

    [Fact]
    public async Task Legacy_inject_without_props_uses_payload_and_topic()
    {
        await using var h = await Flows.One("""{"type":"inject","topic":"old","payload":"true","payloadType":"bool"}""");
        h.Engine.Inject("n");
        var m = await h.NextAsync("o0");
        Assert.True(m.Payload!.GetValue<bool>());
        Assert.Equal("old", m.Topic);
    }

    [Fact]
    public async Task Debug_shows_the_payload_the_whole_message_or_a_property_and_can_be_turned_off()
    {
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"d1","type":"debug","z":"t","complete":"false","tosidebar":true,"x":0,"y":0,"wires":[]},
             {"id":"d2","type":"debug","z":"t","complete":"true","tosidebar":true,"tostatus":true,"x":0,"y":0,"wires":[]},
             {"id":"d3","type":"debug","z":"t","complete":"payload.a","tosidebar":true,"x":0,"y":0,"wires":[]}]
            """);
        h.SendJson("d1", """{"payload":{"a":1},"topic":"x"}""");
        h.SendJson("d2", """{"payload":{"a":2}}""");
        h.SendJson("d3", """{"payload":{"a":3}}""");
        await Flows.UntilAsync(() => h.Debug.Count >= 3, "three debug messages");
        Assert.Contains(h.Debug, d => d.NodeId == "d1" && d.Value!.ToJsonString() == """{"a":1}""" && d.Topic == "x");
        Assert.Contains(h.Debug, d => d.NodeId == "d2" && d.Value!["payload"]!["a"] is not null && d.Property is null);
        Assert.Contains(h.Debug, d => d.NodeId == "d3" && Flows.Num(d.Value) == 3 && d.Property == "msg.payload.a");
        Assert.Contains(h.Engine.Nodes, n => n.Id == "d2" && n.Status.Text!.Contains("\"a\":2", StringComparison.Ordinal));
        ((DebugNode)h.Engine.GetNode("d1")!).Active = false;
        h.SendJson("d1", """{"payload":"hidden"}""");
        h.SendJson("d3", """{"payload":{"a":4}}""");
        await Flows.UntilAsync(() => h.Debug.Count >= 4, "four debug messages");
        Assert.DoesNotContain(h.Debug, d => d.Value?.ToJsonString() == "\"hidden\"");
    }

    [Fact]
    public async Task Catch_node_receives_errors_of_function_nodes_in_its_tab()
    {
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"f","type":"function","z":"t","func":"throw new Error('bad');","x":0,"y":0,"wires":[]},
             {"id":"c","type":"catch","z":"t","scope":["f"],"x":0,"y":0,"wires":[["o"]]},
             {"id":"s","type":"status","z":"t","scope":null,"x":0,"y":0,"wires":[["so"]]},
             {"id":"st","type":"function","z":"t","func":"node.status({text:'hi'}); return msg;","x":0,"y":0,"wires":[]},
             {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]},
             {"id":"so","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """);
        h.Send("f", JsonValue.Create(1));
        Assert.Equal("Error: bad", (await h.NextAsync("o")).Data["error"]!["message"]!.GetValue<string>()[..10]);
        h.Send("st", JsonValue.Create(1));
        Assert.Equal("hi", (await h.NextAsync("so")).Data["status"]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Complete_node_fires_when_the_selected_node_is_done()
    {
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"f","type":"function","z":"t","func":"return null;","x":0,"y":0,"wires":[]},
             {"id":"c","type":"complete","z":"t","scope":["f"],"x":0,"y":0,"wires":[["o"]]},
             {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """);
        h.Send("f", JsonValue.Create("done"));
        Assert.Equal("done", (await h.NextAsync("o")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Link_out_reaches_link_in_on_another_tab_and_link_call_returns()
    {
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},{"id":"t2","type":"tab"},
             {"id":"lo","type":"link out","z":"t","mode":"link","links":["li"],"x":0,"y":0,"wires":[]},
             {"id":"li","type":"link in","z":"t2","links":["lo"],"x":0,"y":0,"wires":[["o"]]},
             {"id":"o","type":"helper","z":"t2","x":0,"y":0,"wires":[]},
             {"id":"call","type":"link call","z":"t","links":["sub"],"linkType":"static","timeout":"5","x":0,"y":0,"wires":[["back"]]},
             {"id":"sub","type":"link in","z":"t2","name":"double","x":0,"y":0,"wires":[["dbl"]]},
             {"id":"dbl","type":"function","z":"t2","func":"msg.payload *= 2; return msg;","x":0,"y":0,"wires":[["ret"]]},
             {"id":"ret","type":"link out","z":"t2","mode":"return","x":0,"y":0,"wires":[]},
             {"id":"dyn","type":"link call","z":"t","linkType":"dynamic","timeout":"5","x":0,"y":0,"wires":[["back"]]},
             {"id":"back","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """);
        h.Send("lo", JsonValue.Create("hop"));
        Assert.Equal("hop", (await h.NextAsync("o")).Payload!.GetValue<string>());
        h.Send("call", JsonValue.Create(21));
        var back = await h.NextAsync("back");
        Assert.Equal(42, Flows.Num(back.Payload));
        Assert.False(back.Data.ContainsKey("_linkSource"));
        h.SendJson("dyn", """{"payload":5,"target":"double"}""");
        Assert.Equal(10, Flows.Num((await h.NextAsync("back")).Payload));
    }

    [Fact]
    public async Task Link_call_reports_a_timeout_when_nothing_returns()
    {
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"call","type":"link call","z":"t","links":["sink"],"timeout":"0.2","x":0,"y":0,"wires":[[]]},
             {"id":"sink","type":"link in","z":"t","x":0,"y":0,"wires":[]},
             {"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["o"]]},
             {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """);
        h.Send("call", JsonValue.Create(1));
        Assert.Equal("timeout", (await h.NextAsync("o")).Data["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Comment_and_junction_behave()
    {
        await using var h = await Flows.One("""{"type":"junction"}""", extra: """,{"id":"cm","type":"comment","z":"t","name":"note","x":0,"y":0,"wires":[]}""");
        h.Send("n", JsonValue.Create(3));
        Assert.Equal(3, Flows.Num((await h.NextAsync("o0")).Payload));
        Assert.NotNull(h.Engine.GetNode("cm"));
    }
}
