using System.Text.Json.Nodes;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>
/// Built-ins that recurse in .NET code (out of reach of the script recursion limit) used to overflow the stack and end
/// the process. Each now throws a RangeError the script can catch, or that fails only this message.
/// </summary>
public sealed class FunctionDepthTests
{
    private const string Deep = "var a = []; for (var i = 0; i < 200000; i++) { a = [a]; } ";

    [Theory]
    [InlineData("JSON.stringify(a)")]
    [InlineData("JSON.stringify(a, null, 2)")]
    [InlineData("JSON.stringify({x: a}, function (k, v) { return v; })")]
    [InlineData("JSON.stringify(a, ['x'])")]
    [InlineData("String(a)")]
    [InlineData("a.join(',')")]
    [InlineData("`${a}`")]
    [InlineData("a.toLocaleString()")]
    [InlineData("a.flat(Infinity)")]
    [InlineData("[a, a].sort()")]
    public async Task Deeply_nested_values_throw_a_catchable_range_error(string expression)
    {
        await using var h = await FunctionNodeTests.Load(Deep + "try { " + expression + "; msg.payload = 'no error'; } catch (e) { msg.payload = e.name + ': ' + e.message; } return msg;");
        h.Send("fn", JsonValue.Create(0));
        Assert.StartsWith("RangeError:", (await h.NextAsync("o0")).Payload!.GetValue<string>(), StringComparison.Ordinal);
    }

    // 50,000 links: ~200× the nesting limit and far past what a thread's stack holds unguarded, yet cheap enough that the
    // script's own 10 s limit is not reached on a loaded machine (200,000 links timed out at load 60).
    [Fact]
    public async Task Chains_of_bound_functions_generators_and_objects_in_json_are_bounded()
    {
        await using var h = await FunctionNodeTests.Load("""
            var out = [];
            function attempt(f) { try { f(); out.push('ok'); } catch (e) { out.push(e.name); } }
            attempt(function () { var f = function () { return 1; }; for (var i = 0; i < 50000; i++) { f = f.bind(null); } f(); });
            attempt(function () { function* w(g) { yield* g; } var g = (function* () { yield 1; })(); for (var i = 0; i < 50000; i++) { g = w(g); } g.next(); });
            attempt(function () { var o = {}; for (var i = 0; i < 50000; i++) { o = { x: o }; } JSON.stringify(o); });
            attempt(function () { var o = {}; o.toJSON = function () { var a = []; for (var i = 0; i < 50000; i++) { a = [a]; } return a; }; JSON.stringify(o); });
            msg.payload = out.join(',') + '|' + typeof Proxy;
            return msg;
            """);
        h.Send("fn", JsonValue.Create(0));
        Assert.Equal("RangeError,RangeError,RangeError,RangeError|undefined", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Uncaught_it_fails_only_this_message_and_reaches_catch_nodes()
    {
        await using var h = await FunctionNodeTests.Load(Deep + "if (msg.payload === 1) { JSON.stringify(a); } return msg;");
        h.Send("fn", JsonValue.Create(1));
        var caught = await h.NextAsync("caught");
        Assert.Contains("RangeError", caught.Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        h.Send("fn", JsonValue.Create(2));
        Assert.Equal(2, Flows.Num((await h.NextAsync("o0")).Payload));
    }

    [Fact]
    public async Task Ordinary_json_and_arrays_behave_as_before()
    {
        await using var h = await FunctionNodeTests.Load("""
            var o = { b: 1, a: [1, { c: 'x', d: undefined, f: function () {} }], when: new Date(0), n: new Number(3) };
            var a = []; for (var i = 0; i < 200; i++) { a = [a]; }
            msg.payload = [
              JSON.stringify(o),
              JSON.stringify(o, ['a', 'c']),
              JSON.stringify(o, function (k, v) { return typeof v === 'number' ? v * 10 : v; }),
              JSON.stringify([1, [2]], null, 1),
              JSON.stringify(a).length,
              String([1, [2, [3]]]),
              [[1, 2], [3, [4]]].flat(Infinity).join('-'),
              (function () { return this.v; }).bind({ v: 'bound' })(),
              JSON.stringify('s'), JSON.stringify(undefined) === undefined,
            ];
            return msg;
            """);
        h.Send("fn", JsonValue.Create(0));
        var expected = JsonNode.Parse("""
            ["{\"b\":1,\"a\":[1,{\"c\":\"x\"}],\"when\":\"1970-01-01T00:00:00.000Z\",\"n\":3}","{\"a\":[1,{\"c\":\"x\"}]}","{\"b\":10,\"a\":[10,{\"c\":\"x\"}],\"when\":\"1970-01-01T00:00:00.000Z\",\"n\":3}","[\n 1,\n [\n  2\n ]\n]",402,"1,2,3","1-2-3-4","bound","\"s\"",true]
            """);
        var actual = (await h.NextAsync("o0")).Payload;
        Assert.True(JsonNode.DeepEquals(expected, actual), actual!.ToJsonString());
    }
}

public sealed class MessageDepthFlowTests
{
    [Fact]
    public async Task A_change_node_nesting_the_payload_in_a_loop_errors_at_the_depth_limit()
    {
        await using var h = await FlowFleet.Runtime.Tests.Harness.FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"ch","type":"change","z":"t","rules":[{"t":"move","p":"payload","pt":"msg","to":"payload.a","tot":"msg"}],"x":0,"y":0,"wires":[["ch"]]},
             {"id":"catch","type":"catch","z":"t","scope":null,"x":0,"y":0,"wires":[["caught"]]},
             {"id":"caught","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """);
        h.Send("ch", JsonValue.Create(1));
        var caught = await h.NextAsync("caught");
        Assert.Contains("levels deep", caught.Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}

public sealed class ContextQuotaFlowTests
{
    [Fact]
    public async Task A_function_keeping_big_values_in_context_gets_errors_not_gigabytes()
    {
        // 6 M characters a message (12 MB as .NET strings) against the default 32 MB per scope.
        await using var h = await FunctionNodeTests.Load("""
            var big = 'x'.repeat(6 * 1024 * 1024);
            try { context.set('k' + msg.payload, big); msg.payload = 'stored'; } catch (e) { msg.payload = 'refused: ' + e.message; }
            return msg;
            """);
        var answers = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            h.Send("fn", JsonValue.Create(i));
            answers.Add((await h.NextAsync("o0")).Payload!.GetValue<string>());
        }
        Assert.Equal(["stored", "stored"], answers.Take(2));
        Assert.StartsWith("refused: Context store 'memory': node context fn:t would hold", answers[2], StringComparison.Ordinal);
    }
}

public sealed class FunctionSetupLimitTests
{
    [Fact]
    public async Task An_endless_setup_loop_fails_its_node_in_bounded_time_and_blocks_nothing_else()
    {
        // The deploy returns while the setup code still loops: the other function answers at once.
        await using var h = await FlowFleet.Runtime.Tests.Harness.FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"slow","type":"function","z":"t","func":"return msg;","initialize":"while (true) {}","timeout":1,"x":0,"y":0,"wires":[["o1"]]},
             {"id":"fast","type":"function","z":"t","func":"msg.payload = 'fast'; return msg;","x":0,"y":0,"wires":[["o2"]]},
             {"id":"o1","type":"helper","z":"t","x":0,"y":0,"wires":[]},
             {"id":"o2","type":"helper","z":"t","x":0,"y":0,"wires":[]},
             {"id":"catch","type":"catch","z":"t","scope":["slow"],"x":0,"y":0,"wires":[["caught"]]},
             {"id":"caught","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """);
        var status = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sub = h.Events.Status.Subscribe(e => { if (e.NodeId == "slow") { status.TrySetResult(e.Status.Text ?? ""); } });
        h.Send("slow", JsonValue.Create(1));
        h.Send("fast", JsonValue.Create(1));
        Assert.Equal("fast", (await h.NextAsync("o2")).Payload!.GetValue<string>());
        Assert.False(status.Task.IsCompleted, "the setup code's time limit (1 s) cannot have passed yet");
        // Within its time limit the setup fails: the node says so and logs why; the waiting message is dropped with no
        // error of its own, as Node-RED drops messages behind a failed setup.
        Assert.Equal("setup failed", await status.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        var log = await h.WaitForLogAsync(l => l.NodeId == "slow" && l.Level == "error", TimeSpan.FromSeconds(10));
        Assert.Contains("Script execution timed out", log.Message, StringComparison.Ordinal);
        await h.AssertNothingAsync("o1");
        await h.AssertNothingAsync("caught", TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task An_endless_close_loop_is_stopped_by_the_time_limit()
    {
        await using var h = await FlowFleet.Runtime.Tests.Harness.FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"fn","type":"function","z":"t","func":"return msg;","finalize":"while (true) {}","timeout":1,"x":0,"y":0,"wires":[]}]
            """);
        var errors = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sub = h.Events.Log.Subscribe(e => { if (e.NodeId == "fn" && e.Level == "error") { errors.TrySetResult(e.Message); } });
        await h.Engine.DeployAsync(JsonNode.Parse("""[{"id":"t","type":"tab"}]""")!);
        Assert.Contains("Close code failed: Script execution timed out", await errors.Task.WaitAsync(TimeSpan.FromSeconds(10)), StringComparison.Ordinal);
    }
}
