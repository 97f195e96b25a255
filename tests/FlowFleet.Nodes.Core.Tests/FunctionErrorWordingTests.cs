using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>
/// Runtime errors read as V8 (Node-RED) words them, in catch nodes' <c>error.message</c>, <c>msg._error</c> and the log.
/// Each wording was checked against Node-RED 4.1 (NodeRedCases/function-errors.json runs the same code on both).
/// </summary>
public sealed class FunctionErrorWordingTests
{
    public static TheoryData<string, string> Cases => new()
    {
        { "var os;\nmsg.payload = os.hostname();\nreturn msg;", "TypeError: Cannot read properties of undefined (reading 'hostname')" },
        { "var o = null;\nmsg.payload = o.y;\nreturn msg;", "TypeError: Cannot read properties of null (reading 'y')" },
        { "msg.a = {};\nmsg.payload = msg.a.b.c;\nreturn msg;", "TypeError: Cannot read properties of undefined (reading 'c')" },
        { "msg.x.y();\nreturn msg;", "TypeError: Cannot read properties of undefined (reading 'y')" },
        { "var o;\no.x = 1;\nreturn msg;", "TypeError: Cannot set properties of undefined (setting 'x')" },
        { "var o;\no['k'] += 1;\nreturn msg;", "TypeError: Cannot read properties of undefined (reading 'k')" },
        { "var o = {};\no.a['k'] = 1;\nreturn msg;", "TypeError: Cannot set properties of undefined (setting 'k')" },
        { "msg.foo();\nreturn msg;", "TypeError: msg.foo is not a function" },
        { "var f = 1;\nf();\nreturn msg;", "TypeError: f is not a function" },
        { "msg.payload = JSON.nope('x');\nreturn msg;", "TypeError: JSON.nope is not a function" },
        { "msg.payload = nosuch;\nreturn msg;", "ReferenceError: ReferenceError: nosuch is not defined (line 1, col 15)" },
        { "var a = 1;\nvar b = 2;\nmsg.payload = a + b + missingVar;\nreturn msg;", "ReferenceError: ReferenceError: missingVar is not defined (line 3, col 23)" },
        { "function f() { return nope; }\nf();\nreturn msg;", "ReferenceError: ReferenceError: nope is not defined" },
        { "return Object.keys(undefined);", "TypeError: Cannot convert undefined or null to object" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_runtime_error_reaches_catch_nodes_worded_as_V8_words_it(string code, string expected)
    {
        await using var h = await FunctionNodeTests.Load(code);
        h.Send("fn", JsonValue.Create(1));
        var m = await h.NextAsync("caught");
        Assert.Equal(expected, m.Data["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Async_code_and_setup_errors_are_worded_as_V8_words_them()
    {
        await using var h = await FunctionNodeTests.Load("await null;\nvar os;\nreturn os.type();",
            extra: ",\"initialize\":\"undefined.x = 1;\"");
        var log = await h.WaitForLogAsync(l => l.NodeId == "fn" && l.Level == "error");
        Assert.Equal("TypeError: Cannot set properties of undefined (setting 'x')", log.Message);
    }

    [Fact]
    public async Task An_error_in_async_message_code_is_worded_as_V8_words_it()
    {
        await using var h = await FunctionNodeTests.Load("await null;\nvar os;\nreturn os.type();");
        h.Send("fn", JsonValue.Create(1));
        var m = await h.NextAsync("caught");
        Assert.Equal("TypeError: Cannot read properties of undefined (reading 'type')", m.Data["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_error_in_a_timer_callback_reaches_catch_nodes_with_V8s_wording()
    {
        await using var h = await FunctionNodeTests.Load("setTimeout(function() { msg.nope(); }, 5);\nreturn null;");
        h.Send("fn", JsonValue.Create(1));
        var m = await h.NextAsync("caught");
        Assert.Equal("TypeError: msg.nope is not a function", m.Data["error"]!["message"]!.GetValue<string>());
    }
}
