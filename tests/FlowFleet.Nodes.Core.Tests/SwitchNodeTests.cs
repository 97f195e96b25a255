using System.Text.Json.Nodes;

namespace FlowFleet.Nodes.Core.Tests;

public sealed class SwitchNodeTests
{
    [Fact]
    public async Task Switch_routes_to_else_when_no_rule_matches()
    {
        await using var h = await Flows.One("""{"type":"switch","property":"payload","propertyType":"msg","rules":[{"t":"gte","v":"50","vt":"num"},{"t":"else"}],"checkall":"false","outputs":2}""", 2);
        h.Send("n", JsonValue.Create(70));
        h.Send("n", JsonValue.Create(10));
        Assert.Equal(70, Flows.Num((await h.NextAsync("o0")).Payload));
        Assert.Equal(10, Flows.Num((await h.NextAsync("o1")).Payload));
    }

    [Fact]
    public async Task Only_the_string_false_stops_after_the_first_match()
    {
        await using var all = await Flows.One("""{"type":"switch","property":"payload","rules":[{"t":"gt","v":"1"},{"t":"gt","v":"2"}],"checkall":false,"outputs":2}""", 2);
        all.Send("n", JsonValue.Create(5));
        await all.NextAsync("o0");
        await all.NextAsync("o1");
        await using var first = await Flows.One("""{"type":"switch","property":"payload","rules":[{"t":"gt","v":"1"},{"t":"gt","v":"2"}],"checkall":"false","outputs":2}""", 2, Flows.Handled);
        first.Send("n", JsonValue.Create(5));
        await first.NextAsync("o0");
        await first.NextAsync("handled");
        await first.AssertNothingYetAsync("o1");
    }

    [Fact]
    public async Task The_first_match_gets_the_same_message_and_later_ones_clones()
    {
        await using var h = await Flows.One("""{"type":"switch","property":"payload","rules":[{"t":"nnull"},{"t":"nnull"}],"checkall":"true","outputs":2}""", 2);
        var input = FlowFleet.Runtime.Messages.FlowMessage.Create(JsonValue.Create(1));
        h.Send("n", input);
        Assert.Same(input, await h.NextAsync("o0"));
        Assert.NotSame(input, await h.NextAsync("o1"));
    }

    [Fact]
    public async Task Every_matching_rule_sends_and_a_rule_that_does_not_match_sends_nothing()
    {
        await using var h = await Flows.One("""{"type":"switch","property":"payload","rules":[{"t":"nnull"},{"t":"null"},{"t":"gt","v":"0","vt":"num"},{"t":"nnull"}],"checkall":"true","outputs":4}""", 4);
        var input = FlowFleet.Runtime.Messages.FlowMessage.Create(JsonValue.Create(1));
        h.Send("n", input);
        Assert.Same(input, await h.NextAsync("o0"));
        var third = await h.NextAsync("o2");
        var fourth = await h.NextAsync("o3");
        Assert.NotSame(input, third);
        Assert.NotSame(third, fourth);
        Assert.Equal(1, FlowFleet.Runtime.Messages.JsonTools.ToNumber(fourth.Payload));
        await h.AssertNothingYetAsync("o1");
    }

    [Fact]
    public async Task A_value_inside_a_parsed_payload_routes_as_a_built_one_and_the_payload_passes_on_unchanged()
    {
        // A device report's component reaches the switch as an object still held as its JSON (shelly in): the rule reads
        // one number from it, and the previous value is kept for the next message's comparison.
        await using var h = await Flows.One("""{"type":"switch","property":"payload[\"switch:0\"].apower","rules":[{"t":"gt","v":"2000","vt":"num"},{"t":"gt","v":"","vt":"prev"},{"t":"else"}],"checkall":"false","outputs":3}""", 3);
        const string high = """{"switch:0":{"id":0,"apower":2500.5,"output":true}}""", low = """{"switch:0":{"id":0,"apower":12,"output":true}}""", higher = """{"switch:0":{"id":0,"apower":40,"output":true}}""";
        h.Send("n", JsonNode.Parse(high));
        h.Send("n", JsonNode.Parse(low));
        h.Send("n", JsonNode.Parse(higher));
        Assert.Equal(high, (await h.NextAsync("o0")).Payload!.ToJsonString());
        Assert.Equal(low, (await h.NextAsync("o2")).Payload!.ToJsonString());
        Assert.Equal(higher, (await h.NextAsync("o1")).Payload!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"t":"eq","v":"5"}""", "\"5\"", true)]
    [InlineData("""{"t":"eq","v":"abc"}""", "\"abc\"", true)]
    [InlineData("""{"t":"neq","v":"abc","vt":"str"}""", "\"abd\"", true)]
    [InlineData("""{"t":"btwn","v":"1","vt":"num","v2":"3","v2t":"num"}""", "2", true)]
    [InlineData("""{"t":"cont","v":"ell","vt":"str"}""", "\"hello\"", true)]
    [InlineData("""{"t":"regex","v":"^HE","vt":"str","case":true}""", "\"hello\"", true)]
    [InlineData("""{"t":"regex","v":"^HE","vt":"str","case":false}""", "\"hello\"", false)]
    [InlineData("""{"t":"true"}""", "true", true)]
    [InlineData("""{"t":"null"}""", "null", true)]
    [InlineData("""{"t":"empty"}""", "[]", true)]
    [InlineData("""{"t":"nempty"}""", "\"x\"", true)]
    [InlineData("""{"t":"istype","v":"array","vt":"array"}""", "[1]", true)]
    [InlineData("""{"t":"istype","v":"number","vt":"number"}""", "\"1\"", false)]
    [InlineData("""{"t":"hask","v":"a","vt":"str"}""", "{\"a\":1}", true)]
    [InlineData("""{"t":"lt","v":"b","vt":"str"}""", "\"a\"", true)]
    public async Task Rules_compare_as_node_red_does(string rule, string payload, bool matches)
    {
        await using var h = await Flows.One($$"""{"type":"switch","property":"payload","rules":[{{rule}}],"outputs":1}""", extra: Flows.Handled);
        h.SendJson("n", $$"""{"payload":{{payload}}}""");
        if (matches)
        {
            await h.NextAsync("o0");
        }
        else
        {
            await h.NextAsync("handled");
            await h.AssertNothingYetAsync("o0");
        }
    }

    [Fact]
    public async Task Prev_compares_with_the_previous_value()
    {
        await using var h = await Flows.One("""{"type":"switch","property":"payload","rules":[{"t":"neq","v":"","vt":"prev"}],"outputs":1}""");
        foreach (var v in new[] { 1, 1, 2 })
        {
            h.Send("n", JsonValue.Create(v));
        }
        Assert.Equal(1, Flows.Num((await h.NextAsync("o0")).Payload));
        Assert.Equal(2, Flows.Num((await h.NextAsync("o0")).Payload));
        await h.AssertNothingBeforeAsync("o0", "n", """{"payload":3}""");
    }
}
