using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Parser;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Tests.Parser;

/// <summary>npm js-yaml run by Jint: its own results and messages, and limits that keep hostile documents from hurting the process.</summary>
public sealed class JsYamlTests
{
    [Fact]
    public void Invalid_yaml_throws_js_yamls_message_with_position_and_snippet()
    {
        var ex = Assert.Throws<JsYamlException>(() => JsYaml.Load("employees:\n-firstName: John\n- lastName: Smith\n"));
        Assert.StartsWith("end of the stream or a document separator is expected (3:1)\n\n 1 | employees:", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("-----^", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Yaml_1_2_core_schema_and_timestamps_as_js_yaml_reads_them()
    {
        var v = (JsonObject)JsYaml.Load("a: yes\nb: 0x1F\nc: ~\nd: 2002-12-14\n")!;
        Assert.Equal("yes", v["a"]!.GetValue<string>());
        Assert.Equal(31, JsonTools.ToNumber(v["b"]));
        Assert.Null(v["c"]);
        Assert.Equal("2002-12-14T00:00:00.000Z", v["d"]!.GetValue<string>());
    }

    [Fact]
    public void An_empty_document_is_undefined()
    {
        Assert.True(JsSpecial.IsUndefined(JsYaml.Load("")));
    }

    [Fact]
    public void Dump_writes_js_yamls_layout()
    {
        Assert.Equal("employees:\n  - firstName: John\n    lastName: Smith\n",
            JsYaml.Dump(JsonNode.Parse("""{"employees":[{"firstName":"John","lastName":"Smith"}]}""")));
    }

    [Fact]
    public void A_billion_laughs_document_is_refused_not_expanded()
    {
        var doc = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
        for (var i = 1; i < 9; i++)
        {
            var prev = (char)('a' + i - 1);
            var cur = (char)('a' + i);
            doc += $"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n";
        }
        // Stopped by the value budget, or on a machine too busy to walk that far in time, by the engine's time limit.
        var ex = Assert.Throws<JsYamlException>(() => JsYaml.Load(doc));
        Assert.True(ex.Message.Contains("too large", StringComparison.Ordinal) || ex.Message.Contains("timed out", StringComparison.Ordinal), ex.Message);
    }

    [Fact]
    public void Nesting_deeper_than_the_engine_allows_is_an_error_for_that_document()
    {
        var deep = new string('[', 20_000) + new string(']', 20_000);
        Assert.Throws<JsYamlException>(() => JsYaml.Load(deep));
        Assert.Equal(1.0, JsonTools.ToNumber(((JsonObject)JsYaml.Load("a: 1")!)["a"]));
    }

    [Fact]
    public async Task Engines_are_not_shared_between_concurrent_callers()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() =>
            JsonTools.ToNumber(((JsonObject)JsYaml.Load($"n: {i}\nlist: [{i}, {i + 1}]\n")!)["n"]))));
        Assert.Equal(Enumerable.Range(0, 16).Select(i => (double)i), results);
    }
}
