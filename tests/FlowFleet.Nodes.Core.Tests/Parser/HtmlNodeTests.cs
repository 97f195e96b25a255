using System.Text.Json.Nodes;

namespace FlowFleet.Nodes.Core.Tests.Parser;

/// <summary>Cases from Node-RED's <c>test/nodes/core/parsers/70-HTML_spec.js</c> on its test page.</summary>
public sealed class HtmlNodeTests
{
    private static readonly string s_page = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Cases", "70-HTML-test-file.html"));

    private static async Task<FlowFleet.Runtime.Messages.FlowMessage> RunAsync(string config, JsonObject msg)
    {
        await using var h = await Flows.One(config);
        h.Send("n", new FlowFleet.Runtime.Messages.FlowMessage(msg));
        return await h.NextAsync("o0");
    }

    [Fact]
    public async Task Msg_select_picks_the_elements()
    {
        var got = await RunAsync("""{"type":"html"}""", new JsonObject { ["payload"] = s_page, ["topic"] = "bar", ["select"] = "body h1" });
        Assert.Equal("""["This is a test page for node 70-HTML"]""", got.Payload!.ToJsonString());
        Assert.Equal("bar", got.Topic);
    }

    [Fact]
    public async Task Other_in_and_out_properties()
    {
        var got = await RunAsync("""{"type":"html","property":"foo","outproperty":"bar","tag":"h1"}""", new JsonObject { ["foo"] = s_page });
        Assert.Equal("This is a test page for node 70-HTML", got.Data["bar"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task No_match_gives_an_empty_array()
    {
        var got = await RunAsync("""{"type":"html"}""", new JsonObject { ["payload"] = s_page, ["select"] = "h4" });
        Assert.Equal("[]", got.Payload!.ToJsonString());
    }

    [Fact]
    public async Task Text_html_attributes_and_fixed_up_tags()
    {
        Assert.Equal("There's nothing to read here.", (await RunAsync("""{"type":"html","ret":"text","tag":"p"}""", new JsonObject { ["payload"] = s_page })).Payload![0]!.GetValue<string>());
        var list = (await RunAsync("""{"type":"html","tag":"ol"}""", new JsonObject { ["payload"] = s_page })).Payload![0]!.GetValue<string>();
        Assert.Equal("<li>Blue</li>\n    <li>Red</li>", list);
        var text = (await RunAsync("""{"type":"html","tag":"ol","ret":"text"}""", new JsonObject { ["payload"] = s_page })).Payload![0]!.GetValue<string>();
        Assert.Contains("Blue", text, StringComparison.Ordinal);
        Assert.Contains("Red", text, StringComparison.Ordinal);
        Assert.Equal("<img src=\"foo.png\"/>", (await RunAsync("""{"type":"html","tag":"span"}""", new JsonObject { ["payload"] = s_page })).Payload![0]!.GetValue<string>());
        Assert.Equal("""[{"src":"foo.png"}]""", (await RunAsync("""{"type":"html","ret":"attr","tag":"span img"}""", new JsonObject { ["payload"] = s_page })).Payload!.ToJsonString());
        Assert.Equal("""[{"_":"Blue","id":"x"}]""", (await RunAsync("""{"type":"html","ret":"compl","tag":"b"}""", new JsonObject { ["payload"] = "<b id=\"x\"> Blue </b>" })).Payload!.ToJsonString());
    }

    [Fact]
    public async Task Multi_sends_one_message_per_element_with_parts()
    {
        await using var h = await Flows.One("""{"type":"html","tag":"ul","as":"multi"}""");
        h.Send("n", new FlowFleet.Runtime.Messages.FlowMessage(new JsonObject { ["_msgid"] = "m1", ["payload"] = s_page, ["topic"] = "bar" }));
        var got = await h.TakeAsync("o0", 2);
        Assert.Contains("<li>Apple</li>", got[0].Payload!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("<li>Parsnip</li>", got[1].Payload!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("""{"id":"m1","index":1,"count":2,"type":"string","ch":""}""", got[1].Data["parts"]!.ToJsonString());
    }

    [Fact]
    public async Task Null_input_is_an_error_and_a_missing_one_passes_through()
    {
        await using var h = await Flows.One("""{"type":"html","tag":"p"}""", extra: """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""");
        h.SendJson("n", """{"payload":null}""");
        await h.NextAsync("err");
        h.SendJson("n", """{"topic":"bar"}""");
        Assert.Equal("bar", (await h.NextAsync("o0")).Topic);
    }
}
