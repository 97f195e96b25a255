using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Function;

/// <summary>Change and switch rules on flow/global context, non-string change matches, invalid patterns and failing JSONata.</summary>
public sealed class ChangeSwitchContextTests
{
    private static Task<FlowHarness> Load(string nodes) => FlowHarness.LoadAsync($$"""
        [{"id":"t","type":"tab"},{{nodes}},
         {"id":"read","type":"function","z":"t","func":"msg.ctx = { flow: flow.get('a') ?? null, moved: flow.get('b') ?? null, global: global.get('g') ?? null }; return msg;","x":0,"y":0,"wires":[["o0"]]},
         {"id":"o0","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"o1","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);

    [Fact]
    public async Task Change_moves_deletes_and_sets_context_values()
    {
        await using var h = await Load("""
            {"id":"n","type":"change","z":"t","x":0,"y":0,"wires":[["read"]],"rules":[
              {"t":"set","p":"a","pt":"flow","to":"payload","tot":"msg"},
              {"t":"move","p":"a","pt":"flow","to":"b","tot":"flow"},
              {"t":"set","p":"g","pt":"global","to":"{\"k\":[1,2]}","tot":"json"},
              {"t":"move","p":"g","pt":"global","to":"copy","tot":"msg"},
              {"t":"set","p":"g","pt":"global","to":"kept","tot":"str"},
              {"t":"delete","p":"g","pt":"global"}]}
            """);
        h.Send("n", new JsonObject { ["v"] = 1 });
        var msg = await h.NextAsync("o0");
        Assert.Equal("""{"flow":null,"moved":{"v":1},"global":null}""", msg.Data["ctx"]!.ToJsonString());
        Assert.Equal("""{"k":[1,2]}""", msg.Data["copy"]!.ToJsonString());
    }

    [Theory]
    [InlineData("5", "num", "5", "6", "five")]
    [InlineData("true", "bool", "true", "false", "yes")]
    public async Task Change_replaces_a_non_string_value_equal_to_from(string from, string fromt, string equal, string other, string expected)
    {
        await using var h = await Load($$"""
            {"id":"n","type":"change","z":"t","x":0,"y":0,"wires":[["o0"]],"rules":[{"t":"change","p":"payload","pt":"msg","from":"{{from}}","fromt":"{{fromt}}","to":"{{expected}}","tot":"str"}]}
            """);
        h.SendJson("n", $$"""{"payload":{{equal}}}""");
        Assert.Equal(expected, (await h.NextAsync("o0")).Payload!.GetValue<string>());
        h.SendJson("n", $$"""{"payload":{{other}}}""");
        Assert.Equal(other, (await h.NextAsync("o0")).Payload!.ToJsonString());
    }

    [Fact]
    public async Task Change_from_a_context_value_matches_what_the_context_holds()
    {
        await using var h = await Load("""
            {"id":"seed","type":"function","z":"t","func":"flow.set('old','cat'); return msg;","x":0,"y":0,"wires":[["n"]]},
            {"id":"n","type":"change","z":"t","x":0,"y":0,"wires":[["o0"]],"rules":[{"t":"change","p":"payload","pt":"msg","from":"old","fromt":"flow","to":"dog","tot":"str"}]}
            """);
        h.Send("seed", JsonValue.Create("a cat and a cat"));
        Assert.Equal("a dog and a dog", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task An_invalid_regular_expression_is_reported_once_and_the_node_ignores_input()
    {
        await using var h = await Load("""
            {"id":"n","type":"change","z":"t","x":0,"y":0,"wires":[["o0"]],"rules":[{"t":"change","p":"payload","pt":"msg","from":"([a-z","fromt":"re","to":"x","tot":"str"}]}
            """ + Flows.Handled);
        var log = await h.WaitForLogAsync(l => l.NodeId == "n" && l.Level == "error");
        Assert.StartsWith("Invalid 'from' property: ", log.Message, StringComparison.Ordinal);
        h.Send("n", JsonValue.Create("abc"));
        await h.NextAsync("handled");
        await h.AssertNothingYetAsync("o0");
        Assert.Single(h.Logs, l => l.NodeId == "n" && l.Level == "error");
    }

    [Fact]
    public async Task Switch_routes_on_a_flow_context_property()
    {
        await using var h = await Load("""
            {"id":"seed","type":"function","z":"t","func":"flow.set('mode', msg.payload); return msg;","x":0,"y":0,"wires":[["n"]]},
            {"id":"n","type":"switch","z":"t","x":0,"y":0,"property":"mode","propertyType":"flow","rules":[{"t":"eq","v":"auto","vt":"str"},{"t":"else"}],"checkall":"true","outputs":2,"wires":[["o0"],["o1"]]}
            """);
        h.Send("seed", JsonValue.Create("auto"));
        Assert.Equal("auto", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        h.Send("seed", JsonValue.Create("manual"));
        Assert.Equal("manual", (await h.NextAsync("o1")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Switch_compares_json_typed_rule_values_as_the_word_json_as_node_red_does()
    {
        await using var h = await Load("""
            {"id":"n","type":"switch","z":"t","x":0,"y":0,"property":"payload","propertyType":"msg","rules":[{"t":"eq","v":"{\"a\":1}","vt":"json"},{"t":"else"}],"checkall":"true","outputs":2,"wires":[["o0"],["o1"]]}
            """);
        h.SendJson("n", """{"payload":{"a":1}}""");
        Assert.Equal("""{"a":1}""", (await h.NextAsync("o1")).Payload!.ToJsonString());
        h.Send("n", JsonValue.Create("json"));
        Assert.Equal("json", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Switch_drops_a_message_whose_jsonata_property_fails_with_a_warning()
    {
        await using var h = await Load("""
            {"id":"n","type":"switch","z":"t","x":0,"y":0,"property":"$number(payload)","propertyType":"jsonata","rules":[{"t":"gt","v":"1","vt":"num"},{"t":"else"}],"checkall":"true","outputs":2,"wires":[["o0"],["o1"]]}
            """);
        h.Send("n", JsonValue.Create("abc"));
        Assert.StartsWith("Invalid JSONata expression: ", (await h.WaitForLogAsync(l => l.NodeId == "n" && l.Level == "warn")).Message, StringComparison.Ordinal);
        h.Send("n", JsonValue.Create("5"));
        Assert.Equal("5", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        // "0" goes to the otherwise rule; it is first at o1, so neither "abc" nor "5" went there.
        await h.AssertNothingBeforeAsync("o1", "n", """{"payload":"0"}""");
    }
}
