using System.Text;
using Jint;
using Jint.Native;
using Jint.Runtime.Interop;
using Jint.Runtime;
using JsEngine = Jint.Engine;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// The hot parts of js/buffer.js in C#: encoding a string to bytes and decoding bytes to a string for utf8 and hex.
/// Interpreting these a character at a time in Jint made Buffer-using function nodes the slowest step of a flow. Each
/// function reproduces buffer.js's JavaScript exactly; where an input would take a path the C# code does not reproduce
/// (a malformed hex pair, a code point above U+10FFFF) it answers <c>undefined</c> and buffer.js runs its own code.
/// </summary>
internal static class ScriptBufferNative
{
    /// <summary>The host object buffer.js picks up (and removes from the global scope) as <c>__ffBufferNative</c>.</summary>
    public static JsValue Create(JsEngine engine)
    {
        var host = new JsObject(engine);
        host.FastSetDataProperty("encode", new ClrFunction(engine, "encode", (_, args) => Encode(engine, args)));
        host.FastSetDataProperty("decode", new ClrFunction(engine, "decode", (_, args) => Decode(args)));
        return host;
    }

    /// <summary>encode(string, enc) → Uint8Array of the string's bytes, or undefined where buffer.js must do it.</summary>
    private static JsValue Encode(JsEngine engine, JsValue[] args)
    {
        if (!args.At(0).IsString() || !args.At(1).IsString())
        {
            return JsValue.Undefined;
        }
        var value = args.At(0).AsString();
        byte[]? bytes = args.At(1).AsString() switch
        {
            // .NET's encoder replaces a lone surrogate with U+FFFD, as buffer.js's utf8Encode does.
            "utf8" or "utf-8" => Encoding.UTF8.GetBytes(value),
            "hex" => HexBytes(value),
            _ => null,
        };
        return bytes is null ? JsValue.Undefined : engine.Intrinsics.Uint8Array.Construct(bytes);
    }

    /// <summary>decode(typedArray, enc, start, end) → string, or undefined where buffer.js must do it.</summary>
    private static JsValue Decode(JsValue[] args)
    {
        if (!args.At(0).IsUint8Array() || !args.At(1).IsString())
        {
            return JsValue.Undefined;
        }
        var bytes = args.At(0).AsUint8Array();
        var start = (int)TypeConverter.ToNumber(args.At(2));
        var end = (int)TypeConverter.ToNumber(args.At(3));
        if (start < 0 || end > bytes.Length || start >= end)
        {
            return start >= end ? JsString.Empty : JsValue.Undefined;
        }
        var span = bytes.AsSpan(start, end - start);
        return args.At(1).AsString() switch
        {
            "utf8" or "utf-8" => Utf8Decode(span) is { } s ? new JsString(s) : JsValue.Undefined,
            "hex" => new JsString(Convert.ToHexStringLower(span)),
            _ => JsValue.Undefined,
        };
    }

    /// <summary>buffer.js's hex parse: whole pairs while both are hex digits; anything else goes back to it.</summary>
    private static byte[]? HexBytes(string value)
    {
        var bytes = new byte[value.Length / 2];
        var n = 0;
        for (var i = 0; i + 1 < value.Length; i += 2)
        {
            var hi = HexDigit(value[i]);
            var lo = HexDigit(value[i + 1]);
            if (hi < 0 || lo < 0)
            {
                // parseInt('1g', 16) is 1 and parseInt(' 1', 16) is 1: leave those to buffer.js.
                return null;
            }
            bytes[n++] = (byte)((hi << 4) | lo);
        }
        return bytes;
    }

    private static int HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>
    /// buffer.js's utf8Decode step for step (not .NET's decoder: it replaces differently — one U+FFFD per bad lead
    /// byte, one for a bad continuation, and a sequence cut off by the end ends the string).
    /// </summary>
    private static string? Utf8Decode(ReadOnlySpan<byte> b)
    {
        if (!b.ContainsAnyInRange((byte)0x80, (byte)0xff))
        {
            return Encoding.ASCII.GetString(b);
        }
        var s = new StringBuilder(b.Length);
        for (var i = 0; i < b.Length;)
        {
            int c = b[i++], n, cp;
            if (c < 0x80) { n = 0; cp = c; }
            else if (c >= 0xc2 && c < 0xe0) { n = 1; cp = c & 31; }
            else if (c >= 0xe0 && c < 0xf0) { n = 2; cp = c & 15; }
            else if (c >= 0xf0 && c < 0xf5) { n = 3; cp = c & 7; }
            else { s.Append('\ufffd'); continue; }
            if (i + n > b.Length) { s.Append('\ufffd'); break; }
            var ok = true;
            for (var k = 0; k < n; k++)
            {
                var x = b[i + k];
                if ((x & 0xc0) != 0x80) { ok = false; break; }
                cp = (cp << 6) | (x & 63);
            }
            if (!ok) { s.Append('\ufffd'); continue; }
            i += n;
            if (cp > 0x10ffff)
            {
                return null; // String.fromCodePoint throws: buffer.js raises that error itself
            }
            if (cp < 0x10000)
            {
                s.Append((char)cp); // a surrogate code point stays a lone surrogate, as fromCodePoint gives
            }
            else
            {
                s.Append(char.ConvertFromUtf32(cp));
            }
        }
        return s.ToString();
    }
}
