using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>Node-RED 5's <c>node.linkcall</c>: a function node calls a link-in flow and awaits what its return link out hands back.</summary>
public sealed class FunctionLinkCallTests
{
    private const string Flow = """
        [{"id":"t","type":"tab"},{"id":"t2","type":"tab"},
         {"id":"fn","type":"function","z":"t","func":"const r = await node.linkcall(msg.target, {payload: msg.payload}, {timeout: 10000}); msg.payload = [r.payload, r._linkSource === undefined]; return msg;","x":0,"y":0,"wires":[["o"]]},
         {"id":"bad","type":"function","z":"t","func":"try { await node.linkcall(msg.target, msg, {timeout: 200}); msg.payload = 'returned'; } catch (e) { msg.payload = e.message; } return msg;","x":0,"y":0,"wires":[["o"]]},
         {"id":"sub","type":"link in","z":"t2","name":"triple","x":0,"y":0,"wires":[["mul"]]},
         {"id":"mul","type":"function","z":"t2","func":"msg.payload *= 3; return msg;","x":0,"y":0,"wires":[["ret"]]},
         {"id":"ret","type":"link out","z":"t2","mode":"return","x":0,"y":0,"wires":[]},
         {"id":"sink","type":"link in","z":"t2","name":"black hole","x":0,"y":0,"wires":[]},
         {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """;

    [Theory]
    [InlineData("sub")]
    [InlineData("triple")]
    public async Task A_function_awaits_the_flow_behind_a_link_in_by_id_or_name(string target)
    {
        await using var h = await FlowHarness.LoadAsync(Flow);
        h.SendJson("fn", $$"""{"payload":7,"target":"{{target}}"}""");
        var result = (await h.NextAsync("o")).Payload!.AsArray();
        Assert.Equal(21, (int)result[0]!.GetValue<long>());
        Assert.True(result[1]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("black hole", "timeout")]
    [InlineData("nowhere", "Error target 'link in' node not found")]
    public async Task A_call_that_cannot_return_rejects_with_Node_REDs_message(string target, string expected)
    {
        await using var h = await FlowHarness.LoadAsync(Flow);
        h.SendJson("bad", $$"""{"payload":1,"target":"{{target}}"}""");
        Assert.Equal(expected, (await h.NextAsync("o")).Payload!.GetValue<string>());
    }
}
