using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>
/// <c>node.send({ … }, false)</c> with an object literal nothing else can reach is taken at once (a burst no longer keeps all
/// its script objects alive until the run ends); the message and the order are what Node-RED delivers.
/// </summary>
public sealed class FunctionFreshSendTests
{
    /// <summary>fn → mark (sets flow.seen on each message) → o0.</summary>
    private static Task<FlowHarness> Load(string func) => FlowHarness.LoadAsync($$"""
        [{"id":"t","type":"tab"},
         {"id":"fn","type":"function","z":"t","func":{{JsonValue.Create(func).ToJsonString()}},"outputs":1,"x":0,"y":0,"wires":[["mark"]]},
         {"id":"mark","type":"change","z":"t","rules":[{"t":"set","p":"seen","pt":"flow","to":"true","tot":"bool"}],"x":0,"y":0,"wires":[["o0"]]},
         {"id":"o0","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"catch","type":"catch","z":"t","scope":null,"x":0,"y":0,"wires":[["caught"]]},
         {"id":"caught","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);

    // Waits (up to ms) for the change node downstream to have seen a message, then reports whether it had during the run.
    // A test that expects it not to waits the whole bound (spinning), so it uses a short one: a message sent at once
    // reaches that change node within microseconds (it runs on the sender's thread).
    private static string WaitForDownstream(int ms) => $$"""
        const t = Date.now();
        while (flow.get('seen') !== true && Date.now() - t < {{ms}}) {}
        return { payload: flow.get('seen') === true ? 'seen during the run' : 'not seen' };
        """;

    [Fact]
    public async Task A_literal_sent_without_cloning_reaches_the_next_node_before_the_run_ends()
    {
        await using var h = await Load("node.send({ payload: 'early', n: { i: 1, list: [1, 'two'] } }, false);\n" + WaitForDownstream(3000));
        h.Send("fn", JsonValue.Create(0));
        var got = await h.TakeAsync("o0", 2);
        Assert.Equal("early", got[0].Payload!.GetValue<string>());
        Assert.Equal("""{"i":1,"list":[1,"two"]}""", got[0].Data["n"]!.ToJsonString());
        Assert.Equal("seen during the run", got[1].Payload!.GetValue<string>());
    }

    [Fact]
    public async Task A_literal_holding_an_object_from_elsewhere_waits_and_shows_what_the_script_did_to_it_later()
    {
        // Node-RED delivers after the run: the change made after the call is seen downstream.
        await using var h = await Load("const shared = { v: 1 };\nnode.send({ payload: shared }, false);\nshared.v = 2;\n" + WaitForDownstream(300));
        h.Send("fn", JsonValue.Create(0));
        var got = await h.TakeAsync("o0", 2);
        Assert.Equal("not seen", got.Single(m => m.Payload is JsonValue).Payload!.GetValue<string>());
        Assert.Equal("""{"v":2}""", got.Single(m => m.Payload is JsonObject).Payload!.ToJsonString());
    }

    [Fact]
    public async Task Literals_sent_after_a_waiting_message_keep_their_place_behind_it()
    {
        await using var h = await Load("""
            node.send(msg, false);
            msg.payload = 'changed';
            for (let i = 0; i < 3; i++) {
                node.send({ payload: i }, false);
            }
            return null;
            """);
        h.Send("fn", JsonValue.Create("original"));
        var got = await h.TakeAsync("o0", 4);
        Assert.Equal(["\"changed\"", "0", "1", "2"], got.Select(m => m.Payload!.ToJsonString()));
    }

    [Fact]
    public async Task A_script_that_redefines_node_is_left_as_written()
    {
        // node is the script's own object here: its send gets false, as written.
        await using var h = await Load("""
            const node = { send(m, clone) { global.set('clone', clone); } };
            node.send({ payload: 1 }, false);
            return { payload: global.get('clone') };
            """);
        h.Send("fn", JsonValue.Create(0));
        Assert.False((await h.NextAsync("o0")).Payload!.GetValue<bool>());
    }

    [Fact]
    public async Task An_error_after_a_marked_send_is_reported_where_it_is_in_the_code_as_written()
    {
        // The same code with the send left unmarked (true, padded to the same length) reports the same position.
        var marked = await ErrorOf("node.send({ payload: 1 }, false); missing();");
        var unmarked = await ErrorOf("node.send({ payload: 1 },  true); missing();");
        Assert.Equal(unmarked, marked);
        Assert.Matches(@"missing is not defined \(line 1, col \d+\)$", marked);
    }

    private static async Task<string> ErrorOf(string func)
    {
        await using var h = await Load(func);
        h.Send("fn", JsonValue.Create(0));
        return (await h.NextAsync("caught")).Data["error"]!["message"]!.GetValue<string>();
    }
}
