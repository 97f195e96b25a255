using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

public sealed class SequenceAndParserTests
{
    private const string SplitJoin = """
        [{"id":"t","type":"tab"},
         {"id":"s","type":"split","z":"t","splt":"\\n","arraySplt":1,"x":0,"y":0,"wires":[["f","parts"]]},
         {"id":"f","type":"function","z":"t","func":"if (typeof msg.payload === 'number') msg.payload *= 10; else if (typeof msg.payload === 'string') msg.payload = msg.payload.toUpperCase(); return msg;","x":0,"y":0,"wires":[["j"]]},
         {"id":"j","type":"join","z":"t","mode":"auto","x":0,"y":0,"wires":[["o"]]},
         {"id":"parts","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """;

    [Theory]
    [InlineData("[1,2,3]", "[10,20,30]", 3)]
    [InlineData("\"a\\nb\"", "\"A\\nB\"", 2)]
    [InlineData("{\"x\":1,\"y\":2}", "{\"x\":10,\"y\":20}", 2)]
    public async Task Split_then_automatic_join_rebuilds_the_original_shape(string payload, string expected, int parts)
    {
        await using var h = await FlowHarness.LoadAsync(SplitJoin);
        h.SendJson("s", $$"""{"payload":{{payload}}}""");
        var pieces = await h.TakeAsync("parts", parts);
        Assert.Equal(Enumerable.Range(0, parts), pieces.Select(p => (int)Flows.Num(p.Data["parts"]!["index"])));
        Assert.All(pieces, p => Assert.Equal(parts, Flows.Num(p.Data["parts"]!["count"])));
        var joined = await h.NextAsync("o");
        Assert.Equal(JsonNode.Parse(expected)!.ToJsonString(), joined.Payload!.ToJsonString());
        Assert.False(joined.Data.ContainsKey("parts"));
    }

    [Fact]
    public async Task Manual_join_builds_a_key_value_object_after_count_messages()
    {
        await using var h = await Flows.One("""{"type":"join","mode":"custom","build":"object","property":"payload","propertyType":"msg","key":"topic","count":"2"}""");
        h.SendJson("n", """{"topic":"a","payload":1}""");
        h.SendJson("n", """{"topic":"b","payload":2}""");
        Assert.Equal("""{"a":1,"b":2}""", (await h.NextAsync("o0")).Payload!.ToJsonString());
    }

    [Fact]
    public async Task Manual_join_sends_a_string_on_msg_complete()
    {
        await using var h = await Flows.One("""{"type":"join","mode":"custom","build":"string","joiner":",","count":""}""");
        h.Send("n", JsonValue.Create("a"));
        h.Send("n", JsonValue.Create("b"));
        h.SendJson("n", """{"payload":"c","complete":true}""");
        Assert.Equal("a,b,c", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Json_converts_both_ways_and_reports_bad_json()
    {
        await using var h = await Flows.One("""{"type":"json","property":"payload"}""", extra: """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""");
        h.Send("n", JsonValue.Create("""{"a":[1,2]}"""));
        Assert.Equal(2, Flows.Num((await h.NextAsync("o0")).Payload!["a"]![1]));
        h.Send("n", new JsonObject { ["b"] = true });
        Assert.Equal("""{"b":true}""", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        h.Send("n", JsonValue.Create("{broken"));
        await h.NextAsync("err");
    }

    [Theory]
    [InlineData("{\"a\":1,}")]
    [InlineData("[1,2,]")]
    [InlineData("{\"a\":1} // note")]
    [InlineData("\uFEFF{\"a\":1}")]
    [InlineData("")]
    public async Task Json_is_as_strict_as_JSON_parse_and_words_errors_as_V8(string text)
    {
        await using var h = await Flows.One("""{"type":"json","property":"payload"}""", extra: """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""");
        h.Send("n", JsonValue.Create(text));
        var message = (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>();
        // One of V8's three forms, not System.Text.Json's text (a lenient parse would have accepted the first three).
        Assert.True(message == "Unexpected end of JSON input" || message.Contains(" JSON at position ", StringComparison.Ordinal)
            || message.EndsWith(" is not valid JSON", StringComparison.Ordinal), message);
    }

    [Theory]
    [InlineData("scale", 50, 0.5)]
    [InlineData("scale", 150, 1.5)]
    [InlineData("clamp", 150, 1)]
    [InlineData("roll", 150, 0.5)]
    public async Task Range_maps_values(string action, double input, double expected)
    {
        await using var h = await Flows.One($$"""{"type":"range","action":"{{action}}","minin":"0","maxin":"100","minout":"0","maxout":"1","property":"payload"}""");
        h.Send("n", JsonValue.Create(input));
        Assert.Equal(expected, Flows.Num((await h.NextAsync("o0")).Payload), 6);
    }

    [Fact]
    public async Task Template_renders_mustache_with_context_and_env_and_parses_json()
    {
        Environment.SetEnvironmentVariable("FF_TPL", "env-value");
        await using var h = await Flows.One("""{"type":"template","field":"payload","fieldType":"msg","syntax":"mustache","output":"json","template":"{\"name\":\"{{payload.name}}\",\"items\":[{{#payload.items}}\"{{.}}\",{{/payload.items}}\"end\"],\"f\":\"{{flow.x}}\",\"e\":\"{{env.FF_TPL}}\",\"missing\":\"{{nope}}\",\"html\":\"{{{payload.html}}}\"}"}""");
        h.Engine.GetHost("n")!.FlowContext.Set("x", JsonValue.Create("fv"));
        h.SendJson("n", """{"payload":{"name":"A&B","items":["x","y"],"html":"<b>"}}""");
        var p = (await h.NextAsync("o0")).Payload!;
        Assert.Equal("A&amp;B", p["name"]!.GetValue<string>());
        Assert.Equal("""["x","y","end"]""", p["items"]!.ToJsonString());
        Assert.Equal("fv", p["f"]!.GetValue<string>());
        Assert.Equal("env-value", p["e"]!.GetValue<string>());
        Assert.Equal("", p["missing"]!.GetValue<string>());
        Assert.Equal("<b>", p["html"]!.GetValue<string>());
    }

    [Fact]
    public async Task Template_outputs_yaml_and_plain_text()
    {
        await using var yaml = await Flows.One("""{"type":"template","syntax":"mustache","output":"yaml","template":"a: {{payload}}\nlist:\n  - 1\n  - 2"}""");
        yaml.Send("n", JsonValue.Create("v"));
        Assert.Equal("""{"a":"v","list":[1,2]}""", (await yaml.NextAsync("o0")).Payload!.ToJsonString());
        await using var plain = await Flows.One("""{"type":"template","syntax":"plain","template":"{{payload}} stays"}""");
        plain.Send("n", JsonValue.Create("v"));
        Assert.Equal("{{payload}} stays", (await plain.NextAsync("o0")).Payload!.GetValue<string>());
    }
}
