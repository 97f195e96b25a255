using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Scripting.Jsonata;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Runtime.Tests.Scripting;

public sealed class JsonataExpressionTests : IAsyncLifetime
{
    private FlowHarness _h = null!;
    private INodeHost _node = null!;

    public async Task InitializeAsync()
    {
        (_h, _node) = await FlowHarness.LoadHelperNodeAsync();
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static FlowMessage Msg(string json) => new((JsonObject)JsonNode.Parse(json)!);

    private JsonNode? Eval(string text, string msg = "{}") => JsonataExpression.Prepare(text, _node).Evaluate(Msg(msg)).Value;

    [Fact]
    public void Paths_functions_and_constructors_work_as_in_jsonata()
    {
        Assert.Equal("""[2,4,6]""", Eval("payload.($ * 2)", """{"payload":[1,2,3]}""")!.ToJsonString());
        Assert.Equal("""{"a":3,"b":1}""", Eval("""payload{name: $sum(v)}""", """{"payload":[{"name":"a","v":1},{"name":"a","v":2},{"name":"b","v":1}]}""")!.ToJsonString());
        Assert.Equal("HELLO", Eval("$uppercase(payload)", """{"payload":"hello"}""")!.GetValue<string>());
        Assert.Equal("""["b","c"]""", Eval("""$sort(payload, function($l, $r) { $l > $r })[[1..2]]""", """{"payload":["c","a","b"]}""")!.ToJsonString());
        Assert.Equal("2024-01-02T03:04:05.000Z", Eval("$fromMillis(1704164645000)")!.GetValue<string>());
    }

    [Fact]
    public void No_match_is_undefined_and_null_is_a_value()
    {
        var expr = JsonataExpression.Prepare("payload.missing", _node);
        Assert.False(expr.Evaluate(Msg("""{"payload":{}}""")).IsDefined);
        var nul = JsonataExpression.Prepare("null", _node).Evaluate(Msg("{}"));
        Assert.True(nul.IsDefined);
        Assert.Null(nul.Value);
    }

    [Fact]
    public void Context_env_and_clone_bindings_read_the_node()
    {
        _node.FlowContext.Set("count", JsonValue.Create(5));
        _node.GlobalContext.Set("name", JsonValue.Create("g"), "memory");
        Assert.Equal(6, JsonTools.ToNumber(Eval("$flowContext('count') + 1")));
        Assert.Equal("g", Eval("$globalContext('name', 'memory')")!.GetValue<string>());
        Assert.Equal("plant-1", Eval("$env('SITE')")!.GetValue<string>());
        Assert.Equal("", Eval("$env('NOT_SET_ANYWHERE_42')")!.GetValue<string>());
        Assert.Equal("""{"a":1}""", Eval("$clone(payload)", """{"payload":{"a":1}}""")!.ToJsonString());
    }

    [Fact]
    public void An_expression_naming_msg_reads_the_whole_message()
    {
        Assert.Equal("t1", Eval("msg.topic", """{"topic":"t1","payload":1}""")!.GetValue<string>());
        // "msg" inside a name is no legacy reference.
        Assert.Equal(3, JsonTools.ToNumber(Eval("msgs", """{"msgs":3}""")));
    }

    [Fact]
    public void Bindings_are_variables()
    {
        var expr = JsonataExpression.Prepare("$A + payload * $N", _node);
        var bindings = new Dictionary<string, JsonNode?> { ["A"] = 1, ["N"] = 10 };
        Assert.Equal(31, JsonTools.ToNumber(expr.Evaluate(Msg("""{"payload":3}"""), bindings).Value));
    }

    [Fact]
    public void Syntax_errors_throw_at_prepare_with_jsonata_text()
    {
        var ex = Assert.Throws<JsonataException>(() => JsonataExpression.Prepare("payload +", _node));
        Assert.Equal("S0207", ex.Code);
        Assert.Contains("Unexpected end of expression", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluation_errors_throw_with_jsonata_text()
    {
        var ex = Assert.Throws<JsonataException>(() => Eval("payload + 1", """{"payload":"a"}"""));
        Assert.Equal("T2001", ex.Code);
        Assert.Contains("left side of the \"+\" operator must evaluate to a number", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_recursion_runs_on_a_larger_stack_and_endless_recursion_is_an_error()
    {
        Assert.Equal(300, JsonTools.ToNumber(Eval("($f := function($n){ $n <= 0 ? 0 : 1 + $f($n-1) }; $f(300))")));
        var ex = Assert.Throws<JsonataException>(() => Eval("($f := function($n){ 1 + $f($n+1) }; $f(0))"));
        Assert.Equal("U1001", ex.Code);
    }

    [Fact]
    public void Expressions_evaluate_concurrently()
    {
        var expr = JsonataExpression.Prepare("payload * 2", _node);
        Parallel.For(0, 200, i => Assert.Equal(i * 2, JsonTools.ToNumber(expr.Evaluate(Msg($$"""{"payload":{{i}}}""")).Value)));
    }
}
