using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>
/// Buffer's utf8/hex encoding and decoding run in C# (ScriptBufferNative) rather than in buffer.js's JavaScript: the
/// results must be exactly those of the JavaScript they replace, which the scripts below carry as the reference.
/// </summary>
public sealed class FunctionBufferNativeTests
{
    // buffer.js's own utf8/hex code before the C# path took it over, verbatim.
    private const string Reference = """
        function utf8Encode(s) {
          var out = [];
          for (var i = 0; i < s.length; i++) {
            var c = s.charCodeAt(i);
            if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
              var d = s.charCodeAt(i + 1);
              if (d >= 0xdc00 && d < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; } else { c = 0xfffd; }
            } else if (c >= 0xd800 && c < 0xe000) { c = 0xfffd; }
            if (c < 0x80) { out.push(c); }
            else if (c < 0x800) { out.push(0xc0 | (c >> 6), 0x80 | (c & 63)); }
            else if (c < 0x10000) { out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)); }
            else { out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)); }
          }
          return out;
        }
        function utf8Decode(b, start, end) {
          var s = '';
          for (var i = start; i < end;) {
            var c = b[i++], n = 0, cp;
            if (c < 0x80) { cp = c; }
            else if (c >= 0xc2 && c < 0xe0) { n = 1; cp = c & 31; }
            else if (c >= 0xe0 && c < 0xf0) { n = 2; cp = c & 15; }
            else if (c >= 0xf0 && c < 0xf5) { n = 3; cp = c & 7; }
            else { s += '\ufffd'; continue; }
            if (i + n > end) { s += '\ufffd'; break; }
            var ok = true;
            for (var k = 0; k < n; k++) { var x = b[i + k]; if ((x & 0xc0) !== 0x80) { ok = false; break; } cp = (cp << 6) | (x & 63); }
            if (!ok) { s += '\ufffd'; continue; }
            i += n;
            s += String.fromCodePoint(cp);
          }
          return s;
        }
        function hexOf(b, start, end) { var s = ''; for (var i = start; i < end; i++) { s += (b[i] < 16 ? '0' : '') + b[i].toString(16); } return s; }
        function hexBytes(value) {
          var h = [];
          for (var i = 0; i + 1 < value.length; i += 2) { var n = parseInt(value.substr(i, 2), 16); if (isNaN(n)) { break; } h.push(n & 255); }
          return h;
        }
        function same(a, b) { return JSON.stringify(Array.from(a)) === JSON.stringify(Array.from(b)); }
        var seed = 7;
        function rnd(n) { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; }
        """;

    private static async Task<JsonObject> Run(string body)
    {
        await using var h = await FunctionNodeTests.Load(Reference + body, outputs: 1);
        h.Send("fn", FlowMessage.Create(JsonValue.Create(0), ""));
        return (await h.NextAsync("o0")).Data;
    }

    [Fact]
    public async Task Utf8_decoding_matches_the_javascript_on_random_and_malformed_bytes()
    {
        var d = await Run("""
            var bad = [];
            var fixed = [[0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xc2], [0xe2, 0x82], [0xff, 0x41], [0xc3, 0x28, 0x41], [0xf0, 0x9f, 0x98, 0x80]];
            for (var t = 0; t < 400; t++) {
              var bytes = [];
              if (t < fixed.length) { bytes = fixed[t]; } else { var n = rnd(24); for (var j = 0; j < n; j++) { bytes.push(rnd(4) === 0 ? rnd(256) : rnd(128)); } }
              var buf = Buffer.from(bytes);
              var s = rnd(3), e = bytes.length - rnd(3);
              if (buf.toString() !== utf8Decode(bytes, 0, bytes.length)) { bad.push(['all', bytes]); }
              if (buf.toString('utf8', s, e) !== (s < e ? utf8Decode(bytes, s, Math.min(e, bytes.length)) : '')) { bad.push(['range', bytes, s, e]); }
              if (buf.slice(1).toString('utf-8') !== utf8Decode(bytes, 1, bytes.length)) { bad.push(['slice', bytes]); }
              if (buf.toString('hex') !== hexOf(bytes, 0, bytes.length) || buf.slice(1).toString('hex', 0, 2) !== hexOf(bytes, 1, Math.min(3, bytes.length))) { bad.push(['hex', bytes]); }
            }
            msg.payload = bad;
            return msg;
            """);
        Assert.Equal("[]", d["payload"]!.ToJsonString());
    }

    [Fact]
    public async Task Utf8_and_hex_encoding_match_the_javascript_including_lone_surrogates_and_bad_hex()
    {
        var d = await Run("""
            var bad = [];
            var strings = ['', 'abc', 'é€😀', '\ud800', '\udc00x', 'a\ud83d', '\ud83d\ud83d\ude00', 'Ünïcödé ✓'];
            for (var t = 0; t < 300; t++) { var s = ''; var n = rnd(12); for (var j = 0; j < n; j++) { s += String.fromCharCode(rnd(3) === 0 ? 0xd800 + rnd(0x800) : rnd(0x3000)); } strings.push(s); }
            strings.forEach(function (s) {
              if (!same(Buffer.from(s), utf8Encode(s)) || !same(Buffer.from(s, 'utf8'), utf8Encode(s))) { bad.push(['utf8', s]); }
              if (Buffer.byteLength(s) !== utf8Encode(s).length) { bad.push(['byteLength', s]); }
            });
            ['', '00ff10', 'ABcd', 'abc', '1g', 'zz00', '0x', ' 1ff', '-1ff', '12 34'].forEach(function (h) {
              if (!same(Buffer.from(h, 'hex'), hexBytes(h))) { bad.push(['hex', h]); }
            });
            var b = Buffer.alloc(6); b.write('é€', 1);
            msg.payload = bad;
            msg.written = Array.from(b);
            msg.isBuffer = Buffer.isBuffer(Buffer.from('x')) && Buffer.from('x') instanceof Uint8Array;
            return msg;
            """);
        Assert.Equal("[]", d["payload"]!.ToJsonString());
        Assert.Equal("[0,195,169,226,130,172]", d["written"]!.ToJsonString());
        Assert.True(d["isBuffer"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_buffer_leaving_the_script_is_its_own_bytes_even_as_a_slice()
    {
        var d = await Run("""
            var whole = Buffer.from('héllo');
            msg.payload = whole.slice(1, 4);
            msg.whole = whole;
            return msg;
            """);
        Assert.Equal("""{"type":"Buffer","data":[195,169,108]}""", d["payload"]!.ToJsonString());
        Assert.Equal("""{"type":"Buffer","data":[104,195,169,108,108,111]}""", d["whole"]!.ToJsonString());
    }
}
