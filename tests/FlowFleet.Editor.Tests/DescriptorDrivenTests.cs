using System.Text.Json.Nodes;
using Bunit;
using FlowFleet.Editor.Components;
using FlowFleet.Editor.Model;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Plugins;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace FlowFleet.Editor.Tests;

/// <summary>The editor takes buttons, rule lists, outputs and labels from descriptors only: plugin types loaded from a plugins
/// folder get what the built-ins get.</summary>
public sealed class DescriptorDrivenTests : IAsyncLifetime
{
    private readonly BunitContext _ctx = new();

    public DescriptorDrivenTests()
    {
        _ctx.Services.AddMudServices();
        _ctx.JSInterop.Mode = JSRuntimeMode.Loose;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _ctx.DisposeAsync().AsTask();

    /// <summary>Core types plus the test plugins, as the editor page builds them.</summary>
    private static Dictionary<string, JsonObject> Descriptors()
    {
        var plugins = Directory.CreateTempSubdirectory("plugins-").FullName;
        TestPlugins.WriteThresholdRouter(plugins);
        TestPlugins.WriteGate(plugins);
        var registry = new NodeRegistry().RegisterAssembly(typeof(FlowFleet.Nodes.Core.Common.InjectNode).Assembly);
        Assert.All(PluginLoader.LoadAll(plugins, registry, new FlowEngineOptions()), i => Assert.Null(i.Error));
        return registry.All.ToDictionary(d => d.Type, DescriptorHints.ToJson, StringComparer.Ordinal);
    }

    [Fact]
    public void A_plugin_rule_list_is_edited_in_its_declared_shape_and_adds_an_output_per_rule()
    {
        var router = Descriptors()["threshold router"];
        var node = new JsonObject { ["id"] = "r", ["type"] = "threshold router", ["limits"] = JsonNode.Parse("""[{"t":"gt","v":"10","vt":"num"}]"""), ["outputs"] = 1 };
        var form = _ctx.Render<NodeForm>(p => p.Add(x => x.Node, node).Add(x => x.Descriptor, router));
        var rules = form.Find("[data-field=limits] [data-testid=rules-editor]");
        // Switch-shaped rows: an operator select and a typed value; no change-style "msg." property field.
        Assert.NotEmpty(rules.QuerySelectorAll(".mud-select"));
        Assert.DoesNotContain("msg.", rules.TextContent, StringComparison.Ordinal);
        Assert.Empty(form.FindAll("[data-field=outputs]"));

        form.FindAll("[data-field=limits] button").Single(b => b.TextContent.Contains("add", StringComparison.Ordinal)).Click();
        Assert.Equal(2, node["limits"]!.AsArray().Count);
        Assert.Equal(2, node["outputs"]!.GetValue<int>());
        Assert.Equal(2, DescriptorHints.Outputs(router, node));

        // A rule list without one output per rule (change) leaves the outputs alone.
        var change = Descriptors()["change"];
        var changeNode = new JsonObject { ["id"] = "c", ["type"] = "change", ["rules"] = new JsonArray(), ["outputs"] = 1 };
        var changeForm = _ctx.Render<NodeForm>(p => p.Add(x => x.Node, changeNode).Add(x => x.Descriptor, change));
        changeForm.FindAll("[data-field=rules] button").Single(b => b.TextContent.Contains("add", StringComparison.Ordinal)).Click();
        Assert.Single(changeNode["rules"]!.AsArray());
        Assert.Equal(1, changeNode["outputs"]!.GetValue<int>());
        Assert.Null(DescriptorHints.Outputs(change, changeNode));
    }

    [Fact]
    public void The_canvas_draws_each_type_s_declared_button_and_reports_presses()
    {
        var ws = new FlowWorkspace();
        ws.Load(JsonNode.Parse("""
            [{"id":"t","type":"tab","label":"A"},
             {"id":"r","type":"threshold router","z":"t","x":200,"y":100,"outputs":1,"limits":[],"wires":[[]]},
             {"id":"g","type":"gate","z":"t","x":200,"y":200,"open":false,"wires":[]},
             {"id":"i","type":"inject","z":"t","x":200,"y":300,"wires":[[]]},
             {"id":"d","type":"debug","z":"t","x":200,"y":400,"wires":[]},
             {"id":"f","type":"function","z":"t","x":200,"y":500,"wires":[[]]}]
            """)!.AsArray(), "r1");
        var triggered = new List<string>();
        var toggled = new List<string>();
        var canvas = _ctx.Render<FlowCanvas>(p => p.Add(x => x.Workspace, ws).Add(x => x.Descriptors, Descriptors())
            .Add(x => x.OnTrigger, id => triggered.Add(id)).Add(x => x.OnToggle, id => toggled.Add(id)));

        string? Button(string id) => canvas.Find($".ff-node[data-id={id}]").QuerySelector("[data-testid=node-button]")?.GetAttribute("data-button");
        Assert.Equal(["trigger", "toggle", "trigger", "toggle", null], new[] { "r", "g", "i", "d", "f" }.Select(Button));
        // The toggle shows the state of the property the descriptor names (the gate's "open" is false; debug's "active" defaults on).
        Assert.Equal("false", canvas.Find(".ff-node[data-id=g] [data-testid=node-button]").GetAttribute("data-on"));
        Assert.Equal("true", canvas.Find(".ff-node[data-id=d] [data-testid=node-button]").GetAttribute("data-on"));

        canvas.Find(".ff-node[data-id=r] [data-testid=node-button]").Click();
        canvas.Find(".ff-node[data-id=g] [data-testid=node-button]").Click();
        Assert.Equal(["r"], triggered);
        Assert.Equal(["g"], toggled);
    }

    [Fact]
    public void A_new_node_of_a_type_with_an_output_per_rule_starts_with_one_per_default_rule()
    {
        var descriptor = JsonNode.Parse("""
            {"type":"fan out","category":"function","inputs":1,"outputs":1,"outputsProperty":"outputs",
             "defaults":{"routes":{"value":[{"t":"eq","v":"a"},{"t":"eq","v":"b"},{"t":"else"}],"ui":"rules","rules":"switch","outputPerRule":true},
                         "outputs":{"value":1,"ui":"hidden"}}}
            """)!.AsObject();
        var ws = new FlowWorkspace();
        ws.Load(JsonNode.Parse("""[{"id":"t","type":"tab","label":"A"}]""")!.AsArray(), "r1");
        var node = ws.AddNode("fan out", descriptor, 200, 100);
        Assert.Equal(3, node["wires"]!.AsArray().Count);
        Assert.Equal(3, node["outputs"]!.GetValue<int>());
        var function = ws.AddNode("function", Descriptors()["function"], 200, 200);
        Assert.Single(function["wires"]!.AsArray());
    }

    [Fact]
    public void Hints_with_unknown_names_fall_back_safely_in_the_editor()
    {
        var spec = new JsonObject { ["ui"] = "fancy", ["rules"] = "weird" };
        Assert.Equal(PropertyUi.Text, DescriptorHints.Ui(spec));
        Assert.Equal(RuleList.None, DescriptorHints.Rules(spec));
        Assert.Equal(NodeButton.None, DescriptorHints.Button(new JsonObject { ["button"] = new JsonObject { ["kind"] = "toggle" } }));
        Assert.Null(DescriptorHints.Label(new JsonObject(), new JsonObject()));
    }
}
