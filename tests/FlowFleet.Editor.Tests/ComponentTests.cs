using System.Text.Json.Nodes;
using Bunit;
using FlowFleet.Editor.Components;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace FlowFleet.Editor.Tests;

/// <summary>bUnit tests of the editor's components.</summary>
public sealed class ComponentTests : IAsyncLifetime
{
    private readonly BunitContext _ctx = new();

    public ComponentTests()
    {
        _ctx.Services.AddMudServices();
        _ctx.JSInterop.Mode = JSRuntimeMode.Loose;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _ctx.DisposeAsync().AsTask();

    private IRenderedComponent<T> Render<T>(Action<ComponentParameterCollectionBuilder<T>> parameters) where T : Microsoft.AspNetCore.Components.IComponent =>
        _ctx.Render(parameters);

    private static IReadOnlyList<JsonObject> Descriptors()
    {
        var registry = new NodeRegistry();
        registry.RegisterAssembly(typeof(FlowFleet.Nodes.Core.Common.InjectNode).Assembly, "core");
        registry.RegisterAssembly(typeof(FlowFleet.Nodes.Fleet.ShellyInNode).Assembly, "fleet");
        return registry.All.Select(Model.DescriptorHints.ToJson).ToList();
    }

    [Fact]
    public void Palette_groups_node_types_by_category_and_filters()
    {
        var cut = Render<Palette>(p => p.Add(x => x.Descriptors, Descriptors()));
        var categories = cut.FindAll(".ff-palette-cat").Select(c => c.TextContent).ToList();
        Assert.Equal("common", categories[0]);
        Assert.Contains("fleet", categories);
        Assert.DoesNotContain("config", categories);
        Assert.NotEmpty(cut.FindAll("[data-type='shelly in']"));
        Assert.Empty(cut.FindAll("[data-type='fleet server']"));
        Assert.Equal("true", cut.Find("[data-type=inject]").GetAttribute("draggable"));

        cut.Find("input").Input("shel");
        cut.WaitForAssertion(() =>
        {
            var types = cut.FindAll(".ff-palette-node").Select(n => n.GetAttribute("data-type")).ToList();
            Assert.Equal(["shelly in", "shelly out"], types);
        });
    }

    [Fact]
    public void Node_form_is_generated_from_the_descriptor_and_validates()
    {
        var descriptors = Descriptors();
        var switchDescriptor = descriptors.Single(d => d["type"]!.GetValue<string>() == "http request");
        var node = new JsonObject { ["id"] = "n1", ["type"] = "http request", ["method"] = "GET", ["url"] = "", ["reqTimeout"] = "" };
        var cut = Render<NodeForm>(p => p.Add(x => x.Node, node).Add(x => x.Descriptor, switchDescriptor));
        Assert.NotNull(cut.Find("[data-field=url] input"));
        Assert.NotNull(cut.Find("[data-field=method] .mud-select"));

        var inject = descriptors.Single(d => d["type"]!.GetValue<string>() == "inject");
        var injectNode = new JsonObject { ["id"] = "i", ["type"] = "inject", ["props"] = JsonNode.Parse("""[{"p":"payload"},{"p":"topic","vt":"str"}]"""), ["payload"] = "", ["payloadType"] = "date", ["repeat"] = "", ["topic"] = "" };
        var injectForm = Render<NodeForm>(p => p.Add(x => x.Node, injectNode).Add(x => x.Descriptor, inject));
        Assert.NotNull(injectForm.Find("[data-testid=rules-editor]"));
        Assert.NotNull(injectForm.Find("[data-field=once] input[type=checkbox]"));
        injectForm.Find("[data-field=repeat] input").Input("ten");
        injectForm.WaitForAssertion(() => Assert.Contains("must be a number", injectForm.Markup, StringComparison.Ordinal));
        Assert.Equal("ten", injectNode["repeat"]!.GetValue<string>());

        var fn = descriptors.Single(d => d["type"]!.GetValue<string>() == "function");
        var fnForm = Render<NodeForm>(p => p.Add(x => x.Node, new JsonObject { ["id"] = "f", ["type"] = "function", ["func"] = "return msg;" }).Add(x => x.Descriptor, fn));
        Assert.NotEmpty(fnForm.FindAll("[data-testid=code-editor]"));
    }

    [Fact]
    public void Typed_input_switches_type_and_checks_the_value()
    {
        string? value = null;
        var cut = Render<TypedInput>(p => p.Add(x => x.Type, "num").Add(x => x.Value, "abc").Add(x => x.ValueChanged, v => value = v));
        Assert.Contains("not a number", cut.Markup, StringComparison.Ordinal);
        cut.FindAll("input").Last().Input("42");
        Assert.Equal("42", value);
        cut.WaitForAssertion(() => Assert.DoesNotContain("not a number", cut.Markup, StringComparison.Ordinal));
        var json = Render<TypedInput>(p => p.Add(x => x.Type, "json").Add(x => x.Value, "{\"a\":"));
        Assert.Contains("not valid JSON", json.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public void Debug_sidebar_lists_messages_and_filters_by_flow()
    {
        var messages = new List<DebugMessage>
        {
            new("n1", "tab1", "first", "t", null, JsonNode.Parse("""{"a":{"b":[1,2]}}""")),
            new("n2", "tab2", "second", null, "msg.payload.x", JsonValue.Create(7)),
        };
        var cut = Render<DebugSidebar>(p => p.Add(x => x.Messages, messages).Add(x => x.ActiveTab, "tab2"));
        Assert.Equal(2, cut.FindAll("[data-testid=debug-message]").Count);
        Assert.Contains("msg.payload.x", cut.Markup, StringComparison.Ordinal);
        // A small object opens at the top level; the nested one shows Node-RED's collapsed preview.
        Assert.Contains("a: <span class=\"p\">{ b: array[2] }", cut.Markup, StringComparison.Ordinal);
        var filtered = Render<DebugSidebar>(p => p.Add(x => x.Messages, messages).Add(x => x.ActiveTab, "tab2").Add(x => x.Filter, "flow"));
        var only = Assert.Single(filtered.FindAll("[data-testid=debug-message]"));
        Assert.Contains("second", only.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void Debug_entries_name_the_source_by_name_or_type_show_types_collapse_and_pause()
    {
        var ws = new FlowFleet.Editor.Model.FlowWorkspace();
        ws.Load(JsonNode.Parse("""[{"id":"t1","type":"tab","label":"A"},{"id":"d1","type":"debug","z":"t1","name":"","x":100,"y":100,"wires":[]}]""")!.AsArray(), "r1");
        var messages = new List<DebugMessage>
        {
            new("d1", "t1", null, null, "msg.payload", JsonValue.Create(42)),
            new("d1", "t1", null, null, "msg", JsonNode.Parse("""{"payload":"x","topic":"t","_msgid":"1","more":1}""")),
            new("d2", "t1", "named", null, "msg.payload", JsonValue.Create(new string('z', 500))),
            new("d2", "t1", "named", null, "msg.payload", JsonNode.Parse($"[{string.Join(",", Enumerable.Range(0, 25))}]")),
            new("d2", "t1", "named", null, "msg.payload", JsonNode.Parse("""{"type":"Buffer","data":[1,2,255]}""")),
        };
        var cut = Render<DebugSidebar>(p => p.Add(x => x.Messages, messages).Add(x => x.Workspace, ws));
        var sources = cut.FindAll("[data-testid=debug-source]").Select(e => e.TextContent.Trim()).ToList();
        Assert.Equal(["node: named", "node: named", "node: named", "node: debug", "node: debug"], sources);
        var types = cut.FindAll("[data-testid=debug-type]").Select(e => e.TextContent.Trim()).ToList();
        Assert.Equal(["buffer[3]", "array[25]", "string[500]", "Object", "number"], types);
        Assert.Equal(["msg.payload", "msg.payload", "msg.payload", "msg", "msg.payload"], cut.FindAll("[data-testid=debug-property]").Select(e => e.TextContent.Trim()));
        Assert.Contains("…\"", cut.Find("[data-testid=json-string]").TextContent, StringComparison.Ordinal);
        Assert.Contains("{ payload: \"x\", topic: \"t\", _msgid: \"1\" … }", cut.Markup, StringComparison.Ordinal);
        cut.FindAll(".ff-json .t").First(e => e.TextContent.Contains("array[25]", StringComparison.Ordinal)).Click();
        Assert.Equal(3, cut.FindAll("[data-testid=json-page]").Count);

        cut.Find("[data-testid=debug-pause]").Click();
        messages.Add(new("d1", "t1", null, null, "msg.payload", JsonValue.Create(1)));
        cut.Render();
        Assert.Equal(5, cut.FindAll("[data-testid=debug-message]").Count);
        Assert.Contains("1 new", cut.Find("[data-testid=debug-paused]").TextContent, StringComparison.Ordinal);
        cut.Find("[data-testid=debug-pause]").Click();
        Assert.Equal(6, cut.FindAll("[data-testid=debug-message]").Count);
    }
}
