using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Common;

/// <summary>The debug node's status line (a message property or a JSONata expression, cut at 32 characters) and failing expressions.</summary>
public sealed class DebugStatusTests
{
    private static Task<FlowHarness> Debug(string config) => FlowHarness.LoadAsync($$"""
        [{"id":"t","type":"tab"},
         {{config}},
         {"id":"s","type":"status","z":"t","scope":["n"],"x":0,"y":0,"wires":[["st"]]},
         {"id":"st","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);

    private static async Task<string> StatusText(FlowHarness h) => (await h.NextAsync("st")).Data["status"]!["text"]!.GetValue<string>();

    [Fact]
    // Node-RED's 21-debug.js: st.substr(0, 32) + "..." (debugStatusLength defaults to 32).
    public async Task The_status_shows_a_message_property_cut_to_32_characters()
    {
        await using var h = await Debug("""{"id":"n","type":"debug","z":"t","x":0,"y":0,"active":true,"tosidebar":true,"tostatus":true,"complete":"payload","targetType":"msg","statusType":"msg","statusVal":"topic","wires":[]}""");
        h.SendJson("n", """{"payload":"not shown","topic":"short"}""");
        Assert.Equal("short", await StatusText(h));
        h.SendJson("n", """{"payload":1,"topic":"a topic far longer than thirty-two characters"}""");
        Assert.Equal("a topic far longer than thirty-t...", await StatusText(h));
    }

    [Fact]
    public async Task A_jsonata_status_is_evaluated_per_message_and_a_failing_one_is_an_error()
    {
        await using var h = await Debug("""{"id":"n","type":"debug","z":"t","x":0,"y":0,"active":true,"tosidebar":false,"tostatus":true,"complete":"payload","targetType":"msg","statusType":"jsonata","statusVal":"$string(payload * 2) & ' W'","wires":[]}""");
        h.Send("n", JsonValue.Create(21));
        Assert.Equal("42 W", await StatusText(h));
        h.Send("n", JsonValue.Create("text"));
        Assert.Equal("Invalid JSONata expression: payload", (await h.WaitForLogAsync(l => l.NodeId == "n" && l.Level == "error")).Message);
    }

    [Fact]
    public async Task A_jsonata_output_that_fails_names_the_expression_and_shows_nothing()
    {
        await using var h = await Debug("""{"id":"n","type":"debug","z":"t","x":0,"y":0,"active":true,"tosidebar":true,"tostatus":false,"complete":"$number(payload)","targetType":"jsonata","wires":[]}""");
        h.Send("n", JsonValue.Create("7"));
        await Flows.UntilAsync(() => !h.Debug.IsEmpty, "the first value in the sidebar");
        Assert.Equal(7, Flows.Num(Assert.Single(h.Debug).Value));
        h.Send("n", JsonValue.Create("seven"));
        Assert.Equal("Invalid JSONata expression: $number(payload)", (await h.WaitForLogAsync(l => l.NodeId == "n" && l.Level == "error")).Message);
        // The error shows in the sidebar as an error; no second value does.
        Assert.Single(h.Debug, d => d.Level is null);
    }
}
