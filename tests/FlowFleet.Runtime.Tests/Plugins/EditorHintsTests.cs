using System.Text.Json.Nodes;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Plugins;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Runtime.Tests.Plugins;

/// <summary>The typed editor hints a descriptor carries (button, rule lists, outputs per rule, field editors, labels), declared
/// by attributes on built-in types and by <c>plugin.json</c> on plugin types, and refused when they name nothing.</summary>
public sealed class EditorHintsTests
{
    private static NodeRegistry Core() => new NodeRegistry().RegisterAssembly(FlowHarness.CoreNodesAssembly);

    [Fact]
    public void Built_in_types_declare_their_button_rule_lists_and_outputs_in_the_descriptor()
    {
        var registry = Core();
        var inject = registry.Find("inject")!.ToJson();
        Assert.Equal("trigger", inject["button"]!["kind"]!.GetValue<string>());
        Assert.Equal("rules", inject["defaults"]!["props"]!["ui"]!.GetValue<string>());
        Assert.Equal("props", inject["defaults"]!["props"]!["rules"]!.GetValue<string>());

        var debug = registry.Find("debug")!;
        Assert.Equal(new NodeButton(NodeButtonKind.Toggle, "active"), debug.Button);
        Assert.Equal("active", debug.ToJson()["button"]!["property"]!.GetValue<string>());

        var rules = registry.Find("switch")!.Properties.Single(p => p.Name == "rules");
        Assert.Equal((PropertyUi.Rules, RuleList.Switch, true), (rules.Ui, rules.Rules, rules.OutputPerRule));
        Assert.Equal("outputs", registry.Find("switch")!.OutputsProperty);
        Assert.Equal(RuleList.Change, registry.Find("change")!.Properties.Single(p => p.Name == "rules").Rules);
        Assert.Null(registry.Find("function")!.ToJson()["button"]);
        Assert.Equal(PropertyUi.Number, registry.Find("function")!.Properties.Single(p => p.Name == "outputs").Ui);
    }

    [Fact]
    public void Label_functions_come_from_the_node_class()
    {
        var registry = Core();
        Assert.Equal("msg.topic", registry.Find("debug")!.Label!(new JsonObject { ["complete"] = "topic" }));
        Assert.Equal("t:42 ↻", registry.Find("inject")!.Label!(new JsonObject { ["payload"] = "42", ["payloadType"] = "num", ["topic"] = "t", ["repeat"] = "5" }));
        Assert.Equal("change: 2 rules", registry.Find("change")!.Label!(new JsonObject { ["rules"] = new JsonArray(new JsonObject(), new JsonObject()) }));
        Assert.Equal("delay 5s", registry.Find("delay")!.Label!(new JsonObject { ["pauseType"] = "delay", ["timeout"] = "5", ["timeoutUnits"] = "seconds" }));
        Assert.Null(registry.Find("switch")!.Label);
    }

    [Fact]
    public void An_unknown_ui_hint_or_a_rule_list_without_its_shape_refuses_the_type()
    {
        var unknown = Assert.Throws<InvalidOperationException>(() => NodeRegistry.Describe(typeof(TypoNode), new NodeTypeAttribute("typo"), "test"));
        Assert.Contains("TypoConfig.Size UI hint: '42' is not one of text, number", unknown.Message, StringComparison.Ordinal);
        var shapeless = Assert.Throws<InvalidOperationException>(() => NodeRegistry.Describe(typeof(ShapelessNode), new NodeTypeAttribute("shapeless"), "test"));
        Assert.Contains("needs its row shape", shapeless.Message, StringComparison.Ordinal);
        var noOutputs = Assert.Throws<InvalidOperationException>(() => NodeRegistry.Describe(typeof(PerRuleNode), new NodeTypeAttribute("per rule"), "test"));
        Assert.Contains("needs an outputs property", noOutputs.Message, StringComparison.Ordinal);
        Assert.Equal(PropertyUi.Rules, NodeRegistry.Describe(typeof(PerRuleNode), new NodeTypeAttribute("per rule") { OutputsProperty = "outputs" }, "test")
            .Properties.Single().Ui);
        var toggle = Assert.Throws<InvalidOperationException>(() => NodeRegistry.Describe(typeof(PerRuleNode),
            new NodeTypeAttribute("toggle") { OutputsProperty = "outputs", Button = NodeButtonKind.Toggle }, "test"));
        Assert.Contains("toggle button needs the property it flips", toggle.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plugin_declares_a_trigger_button_and_rules_with_one_output_each_and_runs_with_them()
    {
        var dir = Directory.CreateTempSubdirectory("plugins-").FullName;
        TestPlugins.WriteThresholdRouter(dir);
        var infos = new List<PluginInfo>();
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"r","type":"threshold router","z":"t","x":0,"y":0,"outputs":2,
              "limits":[{"t":"gt","v":"100","vt":"num"},{"t":"gt","v":"10","vt":"num"}],"wires":[["big"],["mid"]]},
             {"id":"big","type":"helper","z":"t","x":0,"y":0,"wires":[]},
             {"id":"mid","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """, services: sc => sc.AddSingleton(_ =>
        {
            var registry = new NodeRegistry().RegisterAssembly(typeof(CaptureNode).Assembly).RegisterAssembly(FlowHarness.CoreNodesAssembly);
            infos.AddRange(PluginLoader.LoadAll(dir, registry, new FlowEngineOptions()));
            return registry;
        }));
        Assert.Null(Assert.Single(infos).Error);
        var json = h.Engine.Registry.Find("threshold router")!.ToJson();
        Assert.Equal("trigger", json["button"]!["kind"]!.GetValue<string>());
        Assert.Equal("outputs", json["outputsProperty"]!.GetValue<string>());
        Assert.Equal("switch", json["defaults"]!["limits"]!["rules"]!.GetValue<string>());
        Assert.True(json["defaults"]!["limits"]!["outputPerRule"]!.GetValue<bool>());

        h.Send("r", JsonValue.Create(50));
        Assert.Equal(50, FlowFleet.Runtime.Messages.JsonTools.ToNumber((await h.NextAsync("mid")).Payload));
        h.Send("r", JsonValue.Create(500));
        Assert.Equal(500, FlowFleet.Runtime.Messages.JsonTools.ToNumber((await h.NextAsync("big")).Payload));
        // The trigger button: the running plugin node gets a timestamp message on its own input.
        Assert.True(h.Engine.Inject("r"));
        Assert.Equal("rules: 2", (await h.NextAsync("big")).Payload!.GetValue<string>());
    }

    [Fact]
    public void A_plugin_with_an_unknown_ui_hint_is_skipped_with_the_reason()
    {
        var dir = Directory.CreateTempSubdirectory("plugins-").FullName;
        TestPlugins.WriteThresholdRouter(dir, ui: "rulez");
        var registry = new NodeRegistry();
        var info = Assert.Single(PluginLoader.LoadAll(dir, registry, new FlowEngineOptions()));
        Assert.Contains("plugin.json property 'limits' UI hint: 'rulez' is not one of", info.Error, StringComparison.Ordinal);
        Assert.False(registry.TryGet("threshold router", out _));
    }

    private sealed class TypoConfig
    {
        [NodeProperty(Default = "1", UiHint = (PropertyUi)42)]
        public int Size { get; set; }
    }

    private sealed class TypoNode : FlowNode<TypoConfig>;

    private sealed class ShapelessConfig
    {
        [NodeProperty(Default = "[]", UiHint = PropertyUi.Rules)]
        public JsonArray? Rules { get; set; }
    }

    private sealed class ShapelessNode : FlowNode<ShapelessConfig>;

    private sealed class PerRuleConfig
    {
        [NodeProperty(Default = "[]", Rules = RuleList.Switch, OutputPerRule = true)]
        public JsonArray? Rules { get; set; }
    }

    private sealed class PerRuleNode : FlowNode<PerRuleConfig>;
}
