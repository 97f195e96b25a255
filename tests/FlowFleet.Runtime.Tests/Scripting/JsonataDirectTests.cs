using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Scripting.Jsonata;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Runtime.Tests.Scripting;

/// <summary>
/// The direct evaluator must give exactly what the library gives (value, undefined, or the library's error), for every
/// expression and message here; expressions outside its reach must still be evaluated by the library.
/// </summary>
public sealed class JsonataDirectTests : IAsyncLifetime
{
    private FlowHarness _h = null!;
    private INodeHost _node = null!;

    public async Task InitializeAsync()
    {
        (_h, _node) = await FlowHarness.LoadHelperNodeAsync();
        _node.FlowContext.Set("count", JsonValue.Create(41));
        _node.FlowContext.Set("obj", JsonNode.Parse("""{"a":1}"""));
        _node.FlowContext.Set("list", JsonNode.Parse("[1,2]"));
        _node.GlobalContext.Set("name", JsonValue.Create("g"), "memory");
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static readonly string[] s_messages =
    [
        """{"payload":{"apower":52.5,"seq":7,"output":true,"name":"Ab","nested":{"x":{"y":-3}},"nul":null,"list":[1,2],"zero":0,"s":"12.5","big":123456789012.5},"topic":"device/7"}""",
        """{"payload":"hello","topic":"t"}""",
        """{"payload":-0.5}""",
        """{"payload":[1,2,3]}""",
        """{}""",
    ];

    public static TheoryData<string> Expressions => new()
    {
        "42", "'text'", "true", "null", "payload", "payload.apower", "payload.nested.x.y", "payload.missing.deep", "payload.nul", "payload.nul.x",
        "topic.length", "payload.list", "payload.apower * 2 + 1", "payload.apower / 0", "payload.seq % 4", "-payload.apower", "-payload", "-topic",
        "payload + 1", "payload.apower - payload.missing", "payload.apower >= 50", "payload.apower < payload.seq", "topic < 'e'", "topic > 5",
        "payload.missing < 3", "payload = 'hello'", "payload != 'x'", "payload.nul = null", "payload.nested = payload.nested", "payload.output = true",
        "payload.apower > 50 and payload.output", "payload.zero or payload.name", "payload.nested and true", "payload.list and true",
        "payload.apower >= 50 ? 'high' : 'low'", "payload.missing ? 1 : 2", "payload.zero ? 1", "topic & '/' & payload.seq", "payload & 1.5",
        "payload.apower & payload.output & payload.nul", "payload.big & ''", "1e21 & ''", "0.0000001 & ''", "payload.nested & ''", "'a' & payload.missing",
        "{'site': 'plant-1', 'watts': payload.apower * 2, 'gone': payload.missing, 'n': payload.nested}", "{'a': 1, 'a': 2}",
        "[1, payload.apower, [2, 3], payload.missing]", "[payload.list]", "$merge([payload.nested, {'z': 1}])", "$merge(payload.nested)",
        "$merge([payload, {'site': 'p', 'level': payload.apower >= 50 ? 'high' : 'low'}])", "$merge([1])",
        "$string(payload.apower)", "$string(0.1 + 0.2)", "$string(payload.nested)", "$string(true)", "$number(payload.s)", "$number('0x1F')",
        "$number('abc')", "$number(true)", "$round(payload.apower)", "$round(2.5)", "$round(-2.5)", "$round(3.14159, 2)", "$round(1234.5, -2)",
        "$round(payload.s)", "$floor(payload.apower)", "$ceil(-1.5)", "$abs(payload.nested.x.y)", "$uppercase(topic)", "$lowercase(payload.name)",
        "$uppercase(5)", "$length(topic)", "$length('😀a')", "$exists(payload.missing)", "$exists(payload.nul)", "$boolean(payload.name)",
        "$boolean(payload.missing)", "$not(payload.zero)", "$count([1, 2, 3])", "$count(payload.missing)", "$count(payload)", "$sum([1, 2.5])",
        "$max([3, 1])", "$min([])", "$average([1, 2])", "$sum(payload.list)", "$flowContext('count') + 1", "$flowContext('obj').a",
        "$flowContext('list')", "$flowContext('missing')", "$globalContext('name', 'memory')", "$globalContext('name', 'nostore')",
        "$env('SITE')", "$env('NOT_SET_ANYWHERE_42')", "msg.payload", "msg.topic & '!'", "$.payload", "$$.topic", "$", "$unknown(1)",
        "payload.list[0]", "payload.*", "payload.list.x", "$count(payload.list)", "$max(payload.list)", "$average(payload.list)",
        "{'l': payload.list}", "$string(payload.list)", "payload.list = payload.list", "payload.list & ''", "$sum(payload)", "payload.list.($ * 2)", "($x := 1; $x + 1)", "$sum", "payload in [1]",
    };

    [Theory]
    [MemberData(nameof(Expressions))]
    public void Direct_evaluation_gives_what_the_library_gives(string text)
    {
        JsonataExpression expr;
        try
        {
            expr = JsonataExpression.Prepare(text, _node);
        }
        catch (JsonataException)
        {
            return;
        }
        foreach (var json in s_messages)
        {
            var msg = new FlowMessage((JsonObject)JsonNode.Parse(json)!);
            var viaLibrary = Outcome(() => expr.EvaluateInLibrary(msg.Data, null, message: true));
            var viaPublic = Outcome(() => expr.Evaluate(msg));
            Assert.True(viaLibrary == viaPublic, $"{text} on {json}: library {viaLibrary}, direct {viaPublic}");
            // The message is not changed by either.
            Assert.Equal(JsonNode.Parse(json)!.ToJsonString(), msg.Data.ToJsonString());
        }
    }

    [Theory]
    [InlineData("$A + payload * $I", true)]
    [InlineData("$A / $N", true)]
    [InlineData("$A.x", false)]
    [InlineData("$B + 1", true)]
    public void Bindings_are_read_directly(string text, bool direct)
    {
        var expr = JsonataExpression.Prepare(text, _node);
        Assert.Equal(direct, expr.IsDirect);
        var bindings = new Dictionary<string, JsonNode?> { ["A"] = 10, ["I"] = 2, ["N"] = 4 };
        var msg = new FlowMessage(new JsonObject { ["payload"] = 3 });
        Assert.Equal(Outcome(() => expr.EvaluateInLibrary(msg.Data, bindings, message: true)), Outcome(() => expr.Evaluate(msg, bindings)));
    }

    [Theory]
    [InlineData("payload.apower * 2 + 1")]
    [InlineData("$merge([payload, {'site': 'p', 'level': payload.apower >= 50 ? 'high' : 'low'}])")]
    [InlineData("payload.level = 'high'")]
    [InlineData("$flowContext('count') + 1")]
    [InlineData("msg.payload & ', World!'")]
    public void Common_node_red_expressions_are_direct(string text) => Assert.True(JsonataExpression.Prepare(text, _node).IsDirect);

    private static string Outcome(Func<JsonataResult> run)
    {
        try
        {
            var r = run();
            return r.IsDefined ? "value " + (r.Value?.ToJsonString() ?? "null") : "undefined";
        }
        catch (JsonataException ex)
        {
            return "error " + ex.Message;
        }
    }
}
