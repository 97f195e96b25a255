using System.Reflection;
using Acornima;
using FlowFleet.Runtime.Scripting;

namespace FlowFleet.Runtime.Tests.Scripting;

/// <summary>
/// The deploy-time syntax check parses with Acornima directly (no Jint type is touched before a function node runs): it must
/// accept and refuse exactly what Jint's own <c>PrepareScript</c> does, with the same words.
/// </summary>
public sealed class ScriptCacheTests
{
    public static TheoryData<string> Scripts => new()
    {
        "msg.payload = msg.payload * 2;\nreturn msg;",
        "return msg",
        "const a = ;",
        "let x = {a: 1,, b: 2};",
        "if (msg.payload > 1 { return msg; }",
        "var s = /a(b/; return msg;",
        "var s = /[a-z/; return msg;",
        "var s = /a{2,1}/; return msg;",
        "var s = /(?<n>a)(?<n>b)/; return msg;",
        "var s = /(?<=a)b/u.test('ab'); return msg;",
        "var s = /\\p{L}+/u; return msg;",
        "var s = /\\p{Nope}/u; return msg;",
        "var s = /[\\p{L}--[a-z]]/v; return msg;",
        "var s = /a/gg; return msg;",
        "var s = /a/z; return msg;",
        "class A { #x = 1; get() { return this.#y; } }",
        "class A { #x = 1; static has(o) { return #x in o; } }",
        "@dec class A {}",
        "{ using r = null; }",
        "await Promise.resolve(1);",
        "const f = async () => { await 1; }; return msg;",
        "yield 1;",
        "let let = 1;",
        "'use strict'; with (msg) {}",
        "return msg?.payload ?? 0;",
        "label: { break label; } return msg;",
        "continue;",
        "new.target",
        "super.x",
        "import('x')",
        "import x from 'y';",
        "export const a = 1;",
        "#!/bin/node\nreturn msg;",
        "var a = 0x; return msg;",
        "var a = 1_000n; return msg;",
        "var a = `unterminated",
        "var \\u{1F600} = 1;",
        "})({",
    };

    private static string? Error(Action parse)
    {
        try
        {
            parse();
            return null;
        }
        catch (ScriptException ex)
        {
            return ex.Message;
        }
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void The_syntax_check_refuses_what_Jint_refuses_with_its_words(string body)
    {
        // As ScriptHost wraps a function node's code.
        foreach (var code in new[] { "(function(msg) {\n" + body + "\n})", "(async function(msg) {\n" + body + "\n})" })
        {
            var check = Error(() => ScriptCache.CheckSyntax(code));
            Assert.Equal(Error(() => ScriptCache.Prepare(code)), check);
        }
    }

    [Fact]
    public void The_syntax_options_are_Jints_own()
    {
        // Jint's script parser options, read from Jint itself (internal: an upgrade that changes them fails here).
        var type = typeof(Jint.Engine).Assembly.GetType("Jint.ScriptParsingOptions", throwOnError: true)!;
        var defaults = type.GetField("Default", BindingFlags.Public | BindingFlags.Static)!.GetValue(null);
        var jint = (ParserOptions)type.GetMethod("GetParserOptions", BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes)!.Invoke(defaults, null)!;
        foreach (var p in typeof(ParserOptions).GetProperties().Where(p => p.PropertyType.IsValueType || p.PropertyType == typeof(string)))
        {
            Assert.True(Equals(p.GetValue(jint), p.GetValue(ScriptCache.SyntaxOptions)), $"{p.Name}: Jint {p.GetValue(jint)}, ours {p.GetValue(ScriptCache.SyntaxOptions)}");
        }
        // Jint validates regular expressions in its own handler; ours leaves it to Acornima's Validate mode (the cases above).
        Assert.NotNull(jint.OnRegExp);
        Assert.Null(ScriptCache.SyntaxOptions.OnRegExp);
    }

    [Fact]
    public void Checked_code_is_prepared_once_when_an_engine_needs_it()
    {
        const string code = "(function(msg) {\nreturn msg.payload + 17;\n})";
        ScriptCache.CheckSyntax(code);
        var prepared = ScriptCache.Prepare(code);
        Assert.Same(prepared.Program, ScriptCache.Prepare(code).Program);
    }
}
