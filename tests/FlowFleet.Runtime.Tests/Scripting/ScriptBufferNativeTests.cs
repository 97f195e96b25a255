using FlowFleet.Runtime.Scripting;
using JsEngine = Jint.Engine;

namespace FlowFleet.Runtime.Tests.Scripting;

/// <summary>
/// Buffer's utf8/hex encoding and decoding run in C# (ScriptBufferNative) rather than in buffer.js's JavaScript: the
/// results must be exactly those of buffer.js's own code, which still runs where the C# path is not installed. The same
/// script runs in an engine with the C# path and in one without, on random and malformed input, and the outputs must match.
/// </summary>
public sealed class ScriptBufferNativeTests
{
    private const string Random = """
        var seed = 7;
        function rnd(n) { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; }
        var out = [];
        """;

    private static (string Native, string Script) RunBoth(string body)
    {
        string Run(bool native)
        {
            var engine = new JsEngine();
            ScriptBuffer.Install(engine, native);
            return engine.Evaluate(Random + body + "\nJSON.stringify(out)").ToString();
        }
        return (Run(true), Run(false));
    }

    [Fact]
    public void Utf8_and_hex_decoding_match_the_javascript_on_random_and_malformed_bytes()
    {
        var (native, script) = RunBoth("""
            var fixed = [[0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xc2], [0xe2, 0x82], [0xff, 0x41], [0xc3, 0x28, 0x41], [0xf0, 0x9f, 0x98, 0x80]];
            for (var t = 0; t < 400; t++) {
              var bytes = [];
              if (t < fixed.length) { bytes = fixed[t]; } else { var n = rnd(24); for (var j = 0; j < n; j++) { bytes.push(rnd(4) === 0 ? rnd(256) : rnd(128)); } }
              var buf = Buffer.from(bytes);
              var s = rnd(3), e = bytes.length - rnd(3);
              out.push([buf.toString(), buf.toString('utf8', s, e), buf.slice(1).toString('utf-8'), buf.toString('hex'), buf.slice(1).toString('hex', 0, 2)]);
            }
            """);
        Assert.Equal(script, native);
        Assert.Contains('\uFFFD', script); // malformed input was decoded to U+FFFD, not skipped
    }

    [Fact]
    public void Utf8_and_hex_encoding_match_the_javascript_including_lone_surrogates_and_bad_hex()
    {
        var (native, script) = RunBoth("""
            var strings = ['', 'abc', 'é€😀', '\ud800', '\udc00x', 'a\ud83d', '\ud83d\ud83d\ude00', 'Ünïcödé ✓'];
            for (var t = 0; t < 300; t++) { var s = ''; var n = rnd(12); for (var j = 0; j < n; j++) { s += String.fromCharCode(rnd(3) === 0 ? 0xd800 + rnd(0x800) : rnd(0x3000)); } strings.push(s); }
            strings.forEach(function (s) { out.push([Array.from(Buffer.from(s)), Array.from(Buffer.from(s, 'utf8')), Buffer.byteLength(s)]); });
            ['', '00ff10', 'ABcd', 'abc', '1g', 'zz00', '0x', ' 1ff', '-1ff', '12 34'].forEach(function (h) { out.push(Array.from(Buffer.from(h, 'hex'))); });
            """);
        Assert.Equal(script, native);
        Assert.Contains("[239,191,189]", script, StringComparison.Ordinal); // a lone surrogate became U+FFFD's bytes
    }
}
