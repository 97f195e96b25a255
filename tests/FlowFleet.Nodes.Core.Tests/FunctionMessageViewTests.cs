using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>
/// A function node's script reads the message through a view of its JSON rather than a copy: everything a script can do
/// with <c>msg</c> must behave as it does on a plain JavaScript object (as in Node-RED).
/// </summary>
public sealed class FunctionMessageViewTests
{
    private static Task<FlowHarness> Load(string func) => FunctionNodeTests.Load(func, outputs: 2);

    private static string ErrorMessage(FlowMessage caught) => caught.Data["error"]!["message"]!.GetValue<string>();

    private static FlowMessage Input() => FlowMessage.Create(JsonNode.Parse("""{"a":1,"nested":{"b":"x","deep":{"c":true}},"list":[1,2,3],"none":null}"""), "t1");

    private static async Task<JsonObject> Run(string func)
    {
        await using var h = await Load(func);
        h.Send("fn", Input());
        return (await h.NextAsync("o0")).Data;
    }

    [Fact]
    public async Task Reads_primitives_nested_objects_arrays_and_nulls()
    {
        var d = await Run("""
            msg.payload = [typeof msg.payload.a, msg.payload.a + 1, msg.payload.nested.b, msg.payload.nested.deep.c,
              Array.isArray(msg.payload.list), msg.payload.list.length, msg.payload.none === null, msg.payload.missing === undefined,
              msg.payload === msg.payload, msg.payload.nested === msg.payload.nested, msg.topic];
            return msg;
            """);
        Assert.Equal("""["number",2,"x",true,true,3,true,true,true,true,"t1"]""", d["payload"]!.ToJsonString());
    }

    [Fact]
    public async Task Writes_reach_the_sent_message_in_place_and_in_key_order()
    {
        var d = await Run("""
            msg.payload.a = 5; msg.payload.nested.deep.c = false; msg.payload.added = {k: [1, {z: 2}]};
            msg.payload.list.push(4); msg.payload.list[0] = 'first'; delete msg.payload.none; msg.extra = 'e';
            return msg;
            """);
        Assert.Equal("""{"a":5,"nested":{"b":"x","deep":{"c":false}},"list":["first",2,3,4],"added":{"k":[1,{"z":2}]}}""", d["payload"]!.ToJsonString());
        Assert.Equal("e", d["extra"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_object_assigned_and_changed_afterwards_is_sent_changed()
    {
        var d = await Run("const p = {}; msg.payload = p; p.later = 1; const n = msg.payload.nested; return msg;");
        Assert.Equal("""{"later":1}""", d["payload"]!.ToJsonString());
    }

    [Fact]
    public async Task Enumeration_json_spread_assign_and_prototype_methods_work()
    {
        var d = await Run("""
            const p = msg.payload;
            const out = {
              keys: Object.keys(p), json: JSON.stringify(p.nested), spread: {...p.nested}, forin: [],
              own: p.hasOwnProperty('a') && !p.hasOwnProperty('zzz'), has: 'list' in p && !('zzz' in p),
              entries: Object.entries(p.nested.deep), str: String(p.nested.deep), assigned: Object.assign({}, p.nested.deep),
              parsed: JSON.parse(JSON.stringify(msg)).payload.a,
            };
            for (const k in p.nested) { out.forin.push(k); }
            msg.payload = out;
            return msg;
            """);
        var expected = JsonNode.Parse("""{"keys":["a","nested","list","none"],"json":"{\"b\":\"x\",\"deep\":{\"c\":true}}","spread":{"b":"x","deep":{"c":true}},"forin":["b","deep"],"own":true,"has":true,"entries":[["c",true]],"str":"[object Object]","assigned":{"c":true},"parsed":1}""");
        Assert.True(JsonNode.DeepEquals(expected, d["payload"]), d["payload"]!.ToJsonString());
    }

    [Fact]
    public async Task The_message_itself_can_be_enumerated_tested_deleted_from_and_defined_on()
    {
        var d = await Run("""
            delete msg.topic;
            const seen = {has: ['topic' in msg, 'payload' in msg, msg.hasOwnProperty('payload')], keys: Object.keys(msg)};
            Object.defineProperty(msg, 'added', {value: 5, enumerable: true, writable: true, configurable: true});
            seen.forin = [];
            for (const k in msg) { seen.forin.push(k); }
            seen.described = Object.getOwnPropertyDescriptor(msg, 'added').value;
            msg.seen = seen;
            return msg;
            """);
        Assert.False(d.ContainsKey("topic"));
        Assert.Equal(5, JsonTools.ToNumber(d["added"]));
        var expected = JsonNode.Parse("""{"has":[false,true,true],"keys":["_msgid","payload"],"forin":["_msgid","payload","added"],"described":5}""");
        Assert.True(JsonNode.DeepEquals(expected, d["seen"]), d["seen"]!.ToJsonString());
    }

    [Fact]
    public async Task The_same_msg_to_two_outputs_and_node_send_before_return_are_independent_copies()
    {
        await using var h = await Load("node.send([msg, null]); msg.payload.a = 2; return [msg, msg];");
        h.Send("fn", Input());
        var first = await h.NextAsync("o0");
        var second = await h.NextAsync("o0");
        var third = await h.NextAsync("o1");
        Assert.Equal(1, JsonTools.ToNumber(first.Payload!["a"]));
        Assert.Equal(2, JsonTools.ToNumber(second.Payload!["a"]));
        Assert.Equal(2, JsonTools.ToNumber(third.Payload!["a"]));
        Assert.NotSame(second.Data, third.Data);
        second.Payload!["a"] = 3;
        Assert.Equal(2, JsonTools.ToNumber(third.Payload!["a"]));
    }

    [Fact]
    public async Task A_timer_may_send_the_message_later_with_its_later_changes()
    {
        await using var h = await Load("setTimeout(() => { msg.payload.a = 'later'; node.send(msg); }, 20); msg.payload.a = 'now'; return msg;");
        h.Send("fn", Input());
        Assert.Equal("now", (await h.NextAsync("o0")).Payload!["a"]!.GetValue<string>());
        Assert.Equal("later", (await h.NextAsync("o0")).Payload!["a"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_message_kept_past_its_run_is_refused_with_a_clear_error_not_shared()
    {
        await using var h = await Load("if (msg.payload === 2) { msg.payload = kept.payload; return msg; } globalThis.kept = msg; return msg;");
        h.Send("fn", JsonValue.Create(1));
        Assert.Equal(1, JsonTools.ToNumber((await h.NextAsync("o0")).Payload));
        h.Send("fn", JsonValue.Create(2));
        Assert.Contains("RED.util.cloneMessage", ErrorMessage(await h.NextAsync("caught")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_circular_assignment_is_an_error_not_a_crash()
    {
        await using var h = await Load("msg.payload.self = msg; return msg;");
        h.Send("fn", Input());
        Assert.Contains("nested too deeply", ErrorMessage(await h.NextAsync("caught")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Catch_gets_the_message_as_the_script_left_it()
    {
        await using var h = await Load("msg.payload.a = 'changed'; throw new Error('boom');");
        h.Send("fn", Input());
        var caught = await h.NextAsync("caught");
        Assert.Equal("changed", caught.Payload!["a"]!.GetValue<string>());
    }
}
