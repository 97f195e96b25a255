using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Function;

/// <summary>The template node with mustache.js's rules (sections, raw values, lookups) and its output formats and targets.</summary>
public sealed class TemplateNodeTests
{
    private static Task<FlowHarness> Template(string template, string output = "str") =>
        Flows.One(new JsonObject { ["type"] = "template", ["field"] = "payload", ["fieldType"] = "msg", ["syntax"] = "mustache", ["template"] = template, ["output"] = output }.ToJsonString());

    [Fact]
    public async Task Sections_raw_values_paths_and_comments_render_as_mustache_js_does()
    {
        await using var h = await Template(
            "{{&html}} {{{html}}} {{html}}|{{#user}}{{name}}{{/user}}|{{#rows}}{{#ok}}+{{/ok}}{{/rows}}|{{list.1}}/{{list.length}}/{{list.9}}|{{list}}|{{user}}|{{^missing}}none{{/missing}}|{{! a comment }}{{/stray}}|{{#a}}[{{#a}}x{{/a}}]{{/a}}|{{open");
        h.SendJson("n", """{"html":"<b>","user":{"name":"Ann"},"rows":[{"ok":true},{"ok":false},{"ok":1}],"list":[1,2,3],"a":true}""");
        Assert.Equal("<b> <b> &lt;b&gt;|Ann|++|2/3/|1,2,3|[object Object]|none||[x]|{{open", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task An_unclosed_section_is_an_error()
    {
        await using var h = await Template("{{#list}}x");
        h.SendJson("n", """{"list":[1]}""");
        var log = await h.WaitForLogAsync(l => l.NodeId == "n" && l.Level == "error");
        Assert.Contains("Unclosed section 'list' in template", log.Message, StringComparison.Ordinal);
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Yaml_and_json_outputs_are_parsed_and_invalid_results_are_errors()
    {
        await using (var h = await Template("name: {{payload}}\nitems: [a, b]", "yaml"))
        {
            h.Send("n", JsonValue.Create("pump"));
            Assert.Equal("""{"name":"pump","items":["a","b"]}""", (await h.NextAsync("o0")).Payload!.ToJsonString());
            h.Send("n", JsonValue.Create("[unclosed"));
            // js-yaml's own message, as Node-RED reports it.
            Assert.Contains("missed comma between flow collection entries", (await h.WaitForLogAsync(l => l.Level == "error")).Message, StringComparison.Ordinal);
        }
        await using (var h = await Template("""{"say":"{{payload}}"}""", "json"))
        {
            // For JSON output a value is escaped as a JSON string body too.
            h.Send("n", JsonValue.Create("a \"quoted\" word"));
            Assert.Equal("a &quot;quoted&quot; word", (await h.NextAsync("o0")).Payload!["say"]!.GetValue<string>());
        }
        await using (var h = await Template("{not json", "json"))
        {
            h.Send("n", JsonValue.Create(1));
            Assert.StartsWith("Template result is not valid JSON", (await h.WaitForLogAsync(l => l.Level == "error")).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_result_can_go_to_flow_or_global_context_and_names_reach_context_and_env()
    {
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab","env":[{"name":"SITE","type":"str","value":"plant-1"}]},
             {"id":"seed","type":"function","z":"t","func":"flow.set('unit','kW'); global.set('max',9); return msg;","x":0,"y":0,"wires":[["toflow"]]},
             {"id":"toflow","type":"template","z":"t","field":"line","fieldType":"flow","syntax":"mustache","template":"{{payload}} {{flow.unit}} of {{global.max}} at {{env.SITE}}{{flow.nothing}}","output":"str","x":0,"y":0,"wires":[["toglobal"]]},
             {"id":"toglobal","type":"template","z":"t","field":"copy","fieldType":"global","syntax":"plain","template":"{{kept as is}}","output":"str","x":0,"y":0,"wires":[["read"]]},
             {"id":"read","type":"function","z":"t","func":"msg.payload = [flow.get('line'), global.get('copy')]; return msg;","x":0,"y":0,"wires":[["o0"]]},
             {"id":"o0","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """);
        h.Send("seed", JsonValue.Create(7));
        Assert.Equal("""["7 kW of 9 at plant-1","{{kept as is}}"]""", (await h.NextAsync("o0")).Payload!.ToJsonString());
    }

    [Fact]
    public async Task An_empty_template_takes_msg_template()
    {
        await using var h = await Template("");
        h.SendJson("n", """{"template":"hello {{payload}}","payload":"you"}""");
        Assert.Equal("hello you", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }
}
