using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Native.Object;
using Jint.Runtime;
using JsEngine = Jint.Engine;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// Node.js's <c>Buffer</c> in function nodes (js/buffer.js, parsed once), and the conversion of Buffers to and from
/// the <c>{"type":"Buffer","data":[...]}</c> form messages carry.
/// </summary>
internal static class ScriptBuffer
{
    private static readonly Lazy<Prepared<Acornima.Ast.Script>> s_script = new(() =>
    {
        using var stream = typeof(ScriptBuffer).Assembly.GetManifestResourceStream("FlowFleet.Runtime.buffer.js")
            ?? throw new InvalidOperationException("buffer.js is not embedded");
        using var reader = new StreamReader(stream);
        return JsEngine.PrepareScript(reader.ReadToEnd(), "buffer.js");
    });

    /// <param name="native">False leaves every encoding to buffer.js's own JavaScript: the reference the C# path is tested against.</param>
    public static void Install(JsEngine engine, bool native = true)
    {
        if (native)
        {
            engine.SetValue("__ffBufferNative", ScriptBufferNative.Create(engine));
        }
        engine.Execute(s_script.Value);
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<JsEngine, object> s_onFirstUse = new();
    private static readonly object s_pending = new();

    /// <summary>
    /// Installs Buffer once a message brings one into <paramref name="engine"/> (see <see cref="From"/>), for a script
    /// that does not name it: buffer.js is ~9 KB of JavaScript run per engine, and with it every engine build promoted its
    /// set-up code through the JIT while a burst's first messages needed the JIT.
    /// </summary>
    public static void InstallOnFirstUse(JsEngine engine) => s_onFirstUse.AddOrUpdate(engine, s_pending);

    /// <summary>A Buffer for a message's <c>{type:"Buffer",data}</c>, or null where Buffer is not installed.</summary>
    public static JsValue? From(JsEngine engine, JsonObject buffer)
    {
        if (s_onFirstUse.Remove(engine))
        {
            Install(engine);
        }
        if (engine.GetValue("Buffer") is not ObjectInstance ctor || ctor.Get("from") is not Jint.Native.Function.Function from)
        {
            return null;
        }
        var data = buffer["data"]!.AsArray();
        var bytes = new byte[data.Count];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)((int)Messages.JsonTools.ToNumber(data[i]) & 255);
        }
        // One Uint8Array built in C#, then a Buffer over its ArrayBuffer (no copy, no per-byte calls into the engine).
        var array = engine.Intrinsics.Uint8Array.Construct(bytes);
        return engine.Call(from, ctor, [array.Get("buffer")]);
    }

    public static JsonObject ToJson(Jint.Native.JsTypedArray typed)
    {
        if (typed.IsUint8Array())
        {
            // A Buffer is a Uint8Array: its bytes in one copy (this view's bytes only, for a slice).
            return Messages.JsonTools.Buffer(typed.AsUint8Array());
        }
        var length = (int)TypeConverter.ToNumber(typed.Get("length"));
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)TypeConverter.ToNumber(typed.Get(i));
        }
        return Messages.JsonTools.Buffer(bytes);
    }
}
