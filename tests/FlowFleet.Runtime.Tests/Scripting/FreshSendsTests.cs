using FlowFleet.Runtime.Scripting;

namespace FlowFleet.Runtime.Tests.Scripting;

/// <summary>Which <c>node.send(…, false)</c> call sites <see cref="FreshSends"/> marks, and that marking moves nothing in the code.</summary>
public sealed class FreshSendsTests
{
    [Theory]
    [InlineData("for (let i = 0; i < 9; i++) node.send({ topic: 'd/' + i, payload: { seq: i, on: i % 2 === 0 } }, false);", 1)]
    [InlineData("node.send({ a: [1, { b: 2 }], 'c': `t` }, false); node.send({ x: 1 }, false);", 2)]
    [InlineData("node.send({ payload: msg.payload }, false); node.warn('w');", 1)]
    [InlineData("node.send(msg, false);", 0)]
    [InlineData("node.send({ ...msg }, false);", 0)]
    [InlineData("node.send({ get p() { return 1; } }, false);", 0)]
    [InlineData("node.send({ [k]: 1 }, false);", 0)]
    [InlineData("node.send({ __proto__: p }, false);", 0)]
    [InlineData("node.send({ a: [1, , 2] }, false);", 0)]
    [InlineData("node.send({ a: 1 }, true);", 0)]
    [InlineData("node.send({ a: 1 });", 0)]
    [InlineData("let node = {}; node.send({ a: 1 }, false);", 0)]
    [InlineData("node.send = x; node.send({ a: 1 }, false);", 0)]
    [InlineData("f(node); node.send({ a: 1 }, false);", 0)]
    [InlineData("const s = node.send; node.send({ a: 1 }, false);", 0)]
    [InlineData("eval('1'); node.send({ a: 1 }, false);", 0)]
    [InlineData("this.x = 1; node.send({ a: 1 }, false);", 0)]
    [InlineData("globalThis.node.send({ a: 1 }, false);", 0)]
    public void Marks_only_literal_sends_in_scripts_where_node_is_the_node(string body, int marked)
    {
        var code = "(function(msg) {\n" + body + "\n})";
        var (rewritten, sites) = FreshSends.Rewrite(code);
        Assert.Equal(marked, sites.Length);
        Assert.Equal(code.Length, rewritten.Length);
        for (var i = 0; i < marked; i++)
        {
            Assert.Contains($", {FreshSends.FirstSite + i})", rewritten, StringComparison.Ordinal);
        }
        if (marked == 0)
        {
            Assert.Equal(code, rewritten);
        }
    }

    [Fact]
    public void Setup_code_that_could_change_node_leaves_the_message_code_as_written()
    {
        const string code = "(function(msg) {\nnode.send({ a: 1 }, false);\n})";
        Assert.Single(FreshSends.Rewrite(code, "node.warn('ready');", null).Sites);
        Assert.Empty(FreshSends.Rewrite(code, "node.send = function () {};", null).Sites);
    }

    [Theory]
    [InlineData(2_000)] // parsed, deeper than the walk goes
    [InlineData(50_000)] // deeper than the parser goes
    public void A_deeply_nested_script_is_left_as_written_without_walking_its_depth(int depth)
    {
        var deep = new string('[', depth) + new string(']', depth);
        var code = "(function(msg) {\nconst a = " + deep + ";\nnode.send({ a: 1 }, false);\n})";
        var (rewritten, sites) = FreshSends.Rewrite(code);
        Assert.Empty(sites);
        Assert.Equal(code, rewritten);
    }
}
