using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>
/// Setup code and message code that wait on timers and promises (Node-RED's async initialize): the timer callbacks must run
/// while the script waits, messages that arrive during setup wait for it in order, and a failed setup is logged as Node-RED
/// logs it. Runs under a 3 s script limit so that a stalled wait fails fast.
/// </summary>
public sealed class FunctionAsyncSetupTests
{
    private static Task<FlowHarness> Load(string func, string initialize) => FlowHarness.LoadAsync($$"""
        [{"id":"t","type":"tab"},
         {"id":"fn","type":"function","z":"t","func":{{JsonValue.Create(func).ToJsonString()}},"initialize":{{JsonValue.Create(initialize).ToJsonString()}},"outputs":1,"x":0,"y":0,"wires":[["o0"]]},
         {"id":"o0","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"catch","type":"catch","z":"t","scope":null,"x":0,"y":0,"wires":[["caught"]]},
         {"id":"caught","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """, o => o.Scripts.Timeout = TimeSpan.FromSeconds(3));

    [Fact]
    public async Task Setup_that_returns_a_promise_resolved_by_a_timer_completes_before_messages_run()
    {
        await using var h = await Load("msg.payload = global.get('X'); return msg;",
            "global.set('X', '-'); return new Promise((resolve) => setTimeout(() => { global.set('X', 'bar'); resolve(); }, 200));");
        h.Send("fn", JsonValue.Create("foo"));
        Assert.Equal("bar", (await h.NextAsync("o0", TimeSpan.FromSeconds(10))).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Messages_that_arrive_during_async_setup_wait_and_run_in_order()
    {
        await using var h = await Load("msg.payload = [msg.payload, context.get('ready')]; return msg;",
            "await new Promise(r => setTimeout(r, 150)); await Promise.resolve(); context.set('ready', true);");
        for (var i = 0; i < 5; i++)
        {
            h.Send("fn", JsonValue.Create(i));
        }
        var got = await h.TakeAsync("o0", 5, TimeSpan.FromSeconds(10));
        Assert.Equal(["[0,true]", "[1,true]", "[2,true]", "[3,true]", "[4,true]"], got.Select(m => m.Payload!.ToJsonString()));
    }

    [Fact]
    public async Task Setup_may_send_from_a_timer_and_await_several_promises()
    {
        await using var h = await Load("return msg;", """
            const [a, b] = await Promise.all([new Promise(r => setTimeout(() => r(1), 30)), new Promise(r => setTimeout(() => r(2), 10))]);
            setTimeout(() => node.send({ payload: a + b, topic: node.name }), 10);
            """);
        var m = await h.NextAsync("o0", TimeSpan.FromSeconds(10));
        Assert.Equal(3, JsonTools.ToNumber(m.Payload));
        Assert.False(string.IsNullOrEmpty(m.MsgId));
    }

    [Fact]
    public async Task Setup_that_rejects_logs_the_error_and_messages_are_dropped()
    {
        await using var h = await Load("return msg;", "await new Promise(r => setTimeout(r, 20)); throw new Error('init failed');");
        var log = await h.WaitForLogAsync(l => l.NodeId == "fn" && l.Level == "error", TimeSpan.FromSeconds(10));
        Assert.Equal("Error: init failed", log.Message);
        h.Send("fn", JsonValue.Create(1));
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(300));
        await h.AssertNothingAsync("caught", TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Message_code_may_await_a_timer_and_send_from_it()
    {
        await using var h = await Load("""
            await new Promise(r => setTimeout(r, 30));
            node.send({ payload: 'first' });
            await new Promise(r => setTimeout(r, 30));
            msg.payload = 'second';
            return msg;
            """, "");
        var input = FlowMessage.Create(JsonValue.Create(0));
        h.Send("fn", input);
        var first = await h.NextAsync("o0", TimeSpan.FromSeconds(10));
        Assert.Equal("first", first.Payload!.GetValue<string>());
        Assert.Equal(input.MsgId, first.MsgId);
        var second = await h.NextAsync("o0", TimeSpan.FromSeconds(10));
        Assert.Equal("second", second.Payload!.GetValue<string>());
        Assert.Equal(input.MsgId, second.MsgId);
    }

    [Fact]
    public async Task Message_code_that_rejects_after_a_timer_reaches_catch_nodes_with_the_error()
    {
        await using var h = await Load("await new Promise(r => setTimeout(r, 20)); throw new RangeError('late');", "");
        h.Send("fn", JsonValue.Create(7));
        var m = await h.NextAsync("caught", TimeSpan.FromSeconds(10));
        Assert.Equal("RangeError: late", m.Data["error"]!["message"]!.GetValue<string>());
        Assert.Equal(7, JsonTools.ToNumber(m.Payload));
    }
}
