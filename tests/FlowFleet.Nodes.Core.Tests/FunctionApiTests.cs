using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>
/// The function node's API beyond <c>return msg</c>, as Node-RED documents it: context calls with several keys and callbacks,
/// <c>node.done</c>, <c>node.send(msg, false)</c>, timers that are cleared, Buffers arriving in messages, and async code that
/// never settles or fails.
/// </summary>
public sealed class FunctionApiTests
{
    [Fact]
    public async Task Context_get_and_set_take_arrays_of_keys_and_callbacks()
    {
        await using var h = await FunctionNodeTests.Load("""
            context.set(['a', 'b'], [1, {x: 2}], function () {
                context.get(['a', 'b', 'missing'], function (err, values) {
                    context.keys(function (err2, keys) {
                        msg.payload = {values: values, err: err, keys: keys.sort()};
                        node.send(msg);
                    });
                });
            });
            return null;
            """);
        h.Send("fn", JsonValue.Create(0));
        var p = (await h.NextAsync("o0")).Payload!.AsObject();
        Assert.Equal("""[1,{"x":2},null]""", p["values"]!.ToJsonString());
        Assert.Null(p["err"]);
        Assert.Equal("""["a","b"]""", p["keys"]!.ToJsonString());
    }

    [Fact]
    public async Task Context_get_with_a_third_argument_that_is_not_a_function_fails_the_message()
    {
        await using var h = await FunctionNodeTests.Load("msg.payload = context.get('a', 'memory', 42); return msg;");
        h.Send("fn", JsonValue.Create(0));
        Assert.Contains("Callback must be a function", (await h.NextAsync("caught")).Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static Task<FlowHarness> WithComplete(string func) => FlowHarness.LoadAsync($$"""
        [{"id":"t","type":"tab"},
         {"id":"fn","type":"function","z":"t","func":{{JsonValue.Create(func).ToJsonString()}},"outputs":1,"x":0,"y":0,"wires":[["o0"]]},
         {"id":"o0","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"done","type":"complete","z":"t","scope":["fn"],"x":0,"y":0,"wires":[["completed"]]},
         {"id":"completed","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"catch","type":"catch","z":"t","scope":null,"x":0,"y":0,"wires":[["caught"]]},
         {"id":"caught","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);

    [Fact]
    public async Task Node_done_completes_the_message_and_node_done_with_an_error_reaches_catch_nodes()
    {
        // Completion waits for node.done(): a timer calls it, so the complete node hears of it only then.
        await using var h = await WithComplete("""
            setTimeout(function () {
                if (msg.payload === 'bad') { node.done('it broke'); } else { node.done(); }
            }, 1);
            return null;
            """);
        h.Send("fn", JsonValue.Create("good"));
        Assert.Equal("good", (await h.NextAsync("completed")).Payload!.GetValue<string>());
        h.Send("fn", JsonValue.Create("bad"));
        var caught = await h.NextAsync("caught");
        Assert.Equal("it broke", caught.Data["error"]!["message"]!.GetValue<string>());
        Assert.Equal("bad", caught.Payload!.GetValue<string>());
        // The failed message did not complete: the next completion is a later message's.
        h.Send("fn", JsonValue.Create("good again"));
        Assert.Equal("good again", (await h.NextAsync("completed")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Send_without_cloning_delivers_the_message_as_the_script_left_it()
    {
        // Node-RED's node.send(msg, false) hands over the same object: changes made after the call are seen downstream.
        await using var h = await FunctionNodeTests.Load("node.send(msg, false); msg.payload = 'changed after send'; return null;");
        h.Send("fn", JsonValue.Create("original"));
        Assert.Equal("changed after send", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Sending_something_that_is_not_a_message_fails_with_its_type()
    {
        await using var h = await FunctionNodeTests.Load("node.send('just text'); return null;");
        h.Send("fn", JsonValue.Create(0));
        Assert.Equal("Function tried to send a message of type string", (await h.NextAsync("caught")).Data["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_cleared_interval_stops_firing()
    {
        // The interval stops itself on its third tick; a later timeout reports the count, which grows if clearInterval failed.
        await using var h = await FunctionNodeTests.Load("""
            let n = 0;
            const i = setInterval(function () {
                n++;
                if (n === 3) {
                    clearInterval(i);
                    setTimeout(function () { node.send({payload: 'ticks ' + n}); }, 100);
                }
            }, 5);
            return null;
            """);
        h.Send("fn", JsonValue.Create(0));
        Assert.Equal("ticks 3", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task A_cleared_timeout_never_runs()
    {
        await using var h = await FunctionNodeTests.Load("""
            const t = setTimeout(function () { node.send({payload: 'cleared one ran'}); }, 10);
            clearTimeout(t);
            clearTimeout(12345);
            setTimeout(function () { node.send({payload: 'later one'}); }, 200);
            return null;
            """);
        h.Send("fn", JsonValue.Create(0));
        Assert.Equal("later one", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task A_buffer_in_a_message_is_a_Buffer_in_the_script()
    {
        await using var h = await FunctionNodeTests.Load("msg.payload = [Buffer.isBuffer(msg.payload), msg.payload.toString(), msg.payload.length, msg.payload[0]]; return msg;");
        h.SendJson("fn", """{"payload":{"type":"Buffer","data":[104,105,300]}}""");
        Assert.Equal("""[true,"hi,",3,104]""", (await h.NextAsync("o0")).Payload!.ToJsonString());
    }

    [Fact]
    public async Task Async_code_awaiting_a_promise_that_never_settles_times_out_with_a_clear_error()
    {
        await using var h = await FunctionNodeTests.Load("await new Promise(function () {}); return msg;", extra: ",\"timeout\":0.2");
        h.Send("fn", JsonValue.Create("stuck"));
        var caught = await h.NextAsync("caught");
        Assert.Equal("Script execution timed out after 200 ms", caught.Data["error"]!["message"]!.GetValue<string>());
        Assert.Equal("stuck", caught.Payload!.GetValue<string>());
        // The node goes on with the next message.
        await using var ok = await FunctionNodeTests.Load("await null; return msg;", extra: ",\"timeout\":0.2");
        ok.Send("fn", JsonValue.Create("next"));
        Assert.Equal("next", (await ok.NextAsync("o0")).Payload!.GetValue<string>());
    }

    // Worded as in Node-RED (the name twice, then where), as for synchronous code (FunctionErrorWordingTests).
    [Fact]
    public async Task A_reference_error_after_an_await_names_where_it_happened()
    {
        await using var h = await FunctionNodeTests.Load("await null;\nmsg.payload = notDefined;\nreturn msg;");
        h.Send("fn", JsonValue.Create(0));
        var caught = await h.NextAsync("caught");
        Assert.Equal("ReferenceError: ReferenceError: notDefined is not defined (line 2, col 15)", caught.Data["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task NaN_infinities_and_undefined_set_by_one_function_reach_the_next_as_the_same_values()
    {
        // One wire passes the same message on in Node-RED, so what JSON cannot hold survives from node to node.
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"a","type":"function","z":"t","func":"msg.n = NaN; msg.inf = -Infinity; msg.u = undefined; return msg;","x":0,"y":0,"wires":[["b"]]},
             {"id":"b","type":"function","z":"t","func":"msg.payload = [Number.isNaN(msg.n), typeof msg.n, msg.inf === -Infinity, 'u' in msg, msg.u === undefined]; return msg;","x":0,"y":0,"wires":[["o"]]},
             {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """);
        h.Send("a", JsonValue.Create(0));
        Assert.Equal("""[true,"number",true,true,true]""", (await h.NextAsync("o")).Payload!.ToJsonString());
    }
}
