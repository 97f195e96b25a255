using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>change and switch run on the sender's thread when idle: messages must still pass one at a time and in order.</summary>
public sealed class InlineExecutionTests
{
    [Fact]
    public async Task A_burst_through_inline_nodes_and_a_queued_function_arrives_complete_and_in_order()
    {
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"burst","type":"function","z":"t","func":"for (let i = 0; i < 5000; i++) { node.send({ payload: { seq: i } }); } return null;","x":0,"y":0,"wires":[["set"]]},
             {"id":"set","type":"change","z":"t","rules":[{"t":"set","p":"payload.tag","pt":"msg","to":"x","tot":"str"}],"x":0,"y":0,"wires":[["route"]]},
             {"id":"route","type":"switch","z":"t","property":"payload.seq","propertyType":"msg","rules":[{"t":"gte","v":"0","vt":"num"}],"checkall":"true","outputs":1,"x":0,"y":0,"wires":[["fn"]]},
             {"id":"fn","type":"function","z":"t","func":"msg.payload.seen = (context.get('n') || 0); context.set('n', msg.payload.seen + 1); return msg;","x":0,"y":0,"wires":[["out"]]},
             {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """);
        h.Send("burst", JsonValue.Create(0));
        var got = await h.TakeAsync("out", 5000, TimeSpan.FromSeconds(60));
        for (var i = 0; i < got.Count; i++)
        {
            Assert.Equal(i, JsonTools.ToNumber(got[i].Payload!["seq"]));
            Assert.Equal(i, JsonTools.ToNumber(got[i].Payload!["seen"]));
            Assert.Equal("x", got[i].Payload!["tag"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task A_loop_through_inline_nodes_completes()
    {
        // switch → function → switch → back to the first switch until 200: a node already running up the stack is busy, so
        // the message waits in its queue instead of re-entering it.
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"route","type":"switch","z":"t","property":"payload","propertyType":"msg","rules":[{"t":"lt","v":"200","vt":"num"},{"t":"else"}],"checkall":"false","outputs":2,"x":0,"y":0,"wires":[["step"],["out"]]},
             {"id":"step","type":"function","z":"t","func":"msg.payload += 1; return msg;","x":0,"y":0,"wires":[["route2"]]},
             {"id":"route2","type":"switch","z":"t","property":"payload","propertyType":"msg","rules":[{"t":"lt","v":"200","vt":"num"},{"t":"else"}],"checkall":"false","outputs":2,"x":0,"y":0,"wires":[["route"],["out"]]},
             {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """);
        h.Send("route", JsonValue.Create(0));
        Assert.Equal(200, JsonTools.ToNumber((await h.NextAsync("out", TimeSpan.FromSeconds(30))).Payload));
    }
}
