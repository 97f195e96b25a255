using System.Text.Json.Nodes;

namespace FlowFleet.Nodes.Core.Tests.Function;

/// <summary>JSONata in the nodes that accept it, after the jsonata parts of Node-RED's change, switch, inject, join and debug specs.</summary>
public sealed class JsonataNodeTests
{
    private const string Catch = """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["caught"]]},{"id":"caught","type":"helper","z":"t","x":0,"y":0,"wires":[]}""";

    [Fact]
    public async Task Change_sets_values_from_expressions_with_context()
    {
        await using var h = await Flows.One("""
            {"type":"change","rules":[{"t":"set","p":"payload","pt":"msg","to":"$length(payload)","tot":"jsonata"},
                                      {"t":"set","p":"total","pt":"msg","to":"payload + $flowContext('base') + $globalContext('g')","tot":"jsonata"},
                                      {"t":"set","p":"topic","pt":"msg","to":"nothing.here","tot":"jsonata"}]}
            """);
        var host = h.Engine.GetHost("n")!;
        host.FlowContext.Set("base", JsonValue.Create(10));
        host.GlobalContext.Set("g", JsonValue.Create(100));
        h.SendJson("n", """{"payload":"abcde","topic":"gone"}""");
        var m = await h.NextAsync("o0");
        Assert.Equal(5, Flows.Num(m.Payload));
        Assert.Equal(115, Flows.Num(m.Data["total"]));
        // An expression that matches nothing is undefined: the property is deleted, as Node-RED's setMessageProperty does.
        Assert.False(m.Data.ContainsKey("topic"));
    }

    [Fact]
    public async Task Change_reports_an_invalid_expression_at_deploy_and_ignores_messages()
    {
        await using var h = await Flows.One("""{"type":"change","rules":[{"t":"set","p":"payload","pt":"msg","to":"payload +","tot":"jsonata"}]}""", extra: Flows.Handled);
        Assert.Contains(h.Logs, l => l.NodeId == "n" && l.Level == "error" && l.Message.StartsWith("Invalid JSONata expression: ", StringComparison.Ordinal));
        h.Send("n", JsonValue.Create(1));
        await h.NextAsync("handled");
        await h.AssertNothingYetAsync("o0");
    }

    [Fact]
    public async Task Change_evaluation_errors_reach_catch_nodes_and_the_message_stops()
    {
        await using var h = await Flows.One("""{"type":"change","rules":[{"t":"set","p":"payload","pt":"msg","to":"payload + 1","tot":"jsonata"}]}""", extra: Catch);
        h.Send("n", JsonValue.Create("text"));
        var caught = await h.NextAsync("caught");
        Assert.StartsWith("Invalid JSONata expression: The left side of the \"+\" operator must evaluate to a number", caught.Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await h.AssertNothingBeforeAsync("o0", "n", """{"payload":1}""");
    }

    [Fact]
    public async Task Switch_routes_on_expression_property_rules_and_sequence_position()
    {
        await using var h = await Flows.One("""
            {"type":"switch","property":"payload.a + payload.b","propertyType":"jsonata","checkall":"true",
             "rules":[{"t":"eq","v":"payload.expect","vt":"jsonata"},{"t":"jsonata_exp","v":"$I = $N - 1","vt":"jsonata"},{"t":"else"}],"outputs":3}
            """, outputs: 3);
        h.SendJson("n", """{"payload":{"a":1,"b":2,"expect":3}}""");
        Assert.Equal(3, Flows.Num((await h.NextAsync("o0")).Payload!["expect"]));
        h.SendJson("n", """{"payload":{"a":1,"b":2,"expect":4},"parts":{"id":"s","index":1,"count":2}}""");
        Assert.Equal(4, Flows.Num((await h.NextAsync("o1")).Payload!["expect"]));
        h.SendJson("n", """{"payload":{"a":1,"b":2,"expect":4},"parts":{"id":"s","index":0,"count":2}}""");
        Assert.Equal(4, Flows.Num((await h.NextAsync("o2")).Payload!["expect"]));
    }

    [Fact]
    public async Task Switch_rule_errors_are_catchable_and_an_invalid_rule_stops_the_node()
    {
        await using var bad = await Flows.One("""{"type":"switch","property":"payload","rules":[{"t":"eq","v":"payload +","vt":"jsonata"}],"outputs":1}""");
        Assert.Contains(bad.Logs, l => l.Level == "error" && l.Message.StartsWith("Invalid JSONata expression: ", StringComparison.Ordinal));
        await using var h = await Flows.One("""{"type":"switch","property":"payload","rules":[{"t":"eq","v":"$number('x') + 1","vt":"jsonata"}],"outputs":1}""", extra: Catch);
        h.Send("n", JsonValue.Create(1));
        Assert.StartsWith("Invalid JSONata expression: ", (await h.NextAsync("caught")).Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await h.AssertNothingAsync("o0");
    }

    [Fact]
    public async Task Inject_sets_props_from_expressions_and_reports_failures_together()
    {
        await using var h = await Flows.One("""
            {"type":"inject","props":[{"p":"payload","v":"1+2","vt":"jsonata"},{"p":"topic","v":"'t' & payload","vt":"jsonata"},{"p":"none","v":"","vt":"jsonata"}],"repeat":"","once":false}
            """);
        h.Engine.Inject("n");
        var m = await h.NextAsync("o0");
        Assert.Equal(3, Flows.Num(m.Payload));
        Assert.Equal("t3", m.Topic);
        Assert.False(m.Data.ContainsKey("none"));
        await using var bad = await Flows.One("""{"type":"inject","props":[{"p":"payload","v":"$x(","vt":"jsonata"}],"repeat":"","once":false}""", extra: Catch);
        Assert.Contains(bad.Logs, l => l.Level == "error" && l.Message.StartsWith("Invalid JSONata expression: ", StringComparison.Ordinal));
        bad.Engine.Inject("n");
        Assert.NotNull((await bad.NextAsync("caught")).Data["error"]);
        await bad.AssertNothingAsync("o0");
    }

    [Theory]
    [InlineData("$A+payload", "0", "num", "", false, 10)]
    [InlineData("$A+$I", "0", "num", "", false, 6)]
    [InlineData("$A+payload", "1+2+3", "jsonata", "", false, 16)]
    [InlineData("$A+payload", "0", "num", "$A/$N", false, 2.5)]
    [InlineData("$A*10+payload", "0", "num", "", false, 1234)]
    [InlineData("$A*10+payload", "0", "num", "", true, 4321)]
    public async Task Join_reduces_a_sequence(string exp, string init, string initType, string fixup, bool right, double expected)
    {
        await using var h = await Flows.One($$"""
            {"type":"join","mode":"reduce","reduceRight":{{(right ? "true" : "false")}},"reduceExp":"{{exp}}","reduceInit":"{{init}}","reduceInitType":"{{initType}}","reduceFixup":"{{fixup}}"}
            """);
        foreach (var (payload, index) in new[] { (3, 2), (2, 1), (4, 3), (1, 0) })
        {
            h.SendJson("n", $$$"""{"payload":{{{payload}}},"parts":{"index":{{{index}}},"count":4,"id":222}}""");
        }
        var m = await h.NextAsync("o0");
        Assert.Equal(expected, Flows.Num(m.Payload));
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Join_reduce_errors_send_nothing()
    {
        await using var syntax = await Flows.One("""{"type":"join","mode":"reduce","reduceExp":"invalid expr","reduceInit":"0","reduceInitType":"num"}""", extra: Flows.Handled);
        syntax.SendJson("n", """{"payload":"A","parts":{"id":1,"index":0,"count":1}}""");
        await syntax.NextAsync("handled");
        await syntax.AssertNothingYetAsync("o0");
        await using var runtime = await Flows.One("""{"type":"join","mode":"reduce","reduceExp":"$A","reduceInit":"0","reduceInitType":"num","reduceFixup":"$unknown()"}""", extra: Catch);
        runtime.SendJson("n", """{"payload":"A","parts":{"id":1,"index":0,"count":1}}""");
        Assert.NotNull((await runtime.NextAsync("caught")).Data["error"]);
        await runtime.AssertNothingAsync("o0");
    }

    [Fact]
    public async Task Debug_shows_an_expression_value()
    {
        await using var h = await Flows.One("""{"type":"debug","active":true,"tosidebar":true,"complete":"payload * 2","targetType":"jsonata"}""", outputs: 0);
        h.Send("n", JsonValue.Create(21));
        await Flows.UntilAsync(() => !h.Debug.IsEmpty, "a debug message");
        Assert.True(h.Debug.TryDequeue(out var d));
        Assert.Equal(42, Flows.Num(d.Value));
        Assert.Null(d.Property);
    }
}
