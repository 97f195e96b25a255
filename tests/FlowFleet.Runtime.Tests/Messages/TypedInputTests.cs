using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Runtime.Tests.Messages;

public sealed class TypedInputTests : IAsyncLifetime
{
    private FlowHarness _h = null!;
    private INodeHost _node = null!;

    public async Task InitializeAsync()
    {
        (_h, _node) = await FlowHarness.LoadHelperNodeAsync();
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private JsonNode? Eval(string type, string value, FlowMessage? msg = null) => _node.Evaluate(type, JsonValue.Create(value), msg);

    [Fact]
    public void Literal_types_convert_as_node_red_does()
    {
        Assert.Equal("5", Eval("str", "5")!.GetValue<string>());
        Assert.Equal(5.5, JsonTools.ToNumber(Eval("num", "5.5")));
        Assert.True(Eval("bool", "TRUE")!.GetValue<bool>());
        Assert.False(Eval("bool", "yes")!.GetValue<bool>());
        Assert.Equal("""{"a":[1]}""", Eval("json", """{"a":[1]}""")!.ToJsonString());
        Assert.Equal("""{"type":"Buffer","data":[1,2]}""", Eval("bin", "[1,2]")!.ToJsonString());
        Assert.True(JsonTools.ToNumber(Eval("date", "")) > 1.7e12);
        Assert.EndsWith("Z", Eval("date", "iso")!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_json_is_a_clear_error() =>
        Assert.Contains("Invalid JSON", Assert.Throws<InvalidOperationException>(() => Eval("json", "{nope")).Message, StringComparison.Ordinal);

    [Fact]
    public void Jsonata_evaluates_against_the_message_with_node_bindings()
    {
        var msg = new FlowMessage(new JsonObject { ["payload"] = 20, ["topic"] = "t" });
        Assert.Equal(42, JsonTools.ToNumber(Eval("jsonata", "payload * 2 + $count([1,2])", msg)));
        Assert.Equal("plant-1/t", Eval("jsonata", "$env('SITE') & '/' & topic", msg)!.GetValue<string>());
        Assert.Equal("t", Eval("jsonata", "msg.topic", msg)!.GetValue<string>());
    }

    [Fact]
    public void References_read_msg_context_with_stores_and_env()
    {
        var msg = new FlowMessage(new JsonObject { ["payload"] = new JsonObject { ["a"] = new JsonArray(7) } });
        Assert.Equal(7, JsonTools.ToNumber(Eval("msg", "payload.a[0]", msg)));
        _node.FlowContext.Set("x", JsonValue.Create("in flow"));
        _node.GlobalContext.Set("y", JsonValue.Create("in memory store"), "memory");
        Assert.Equal("in flow", Eval("flow", "x")!.GetValue<string>());
        Assert.Equal("in memory store", Eval("global", "#:(memory)::y")!.GetValue<string>());
        Assert.Equal("plant-1", Eval("env", "SITE")!.GetValue<string>());
        Assert.Equal("site plant-1", Eval("env", "site ${SITE}")!.GetValue<string>());
    }
}
