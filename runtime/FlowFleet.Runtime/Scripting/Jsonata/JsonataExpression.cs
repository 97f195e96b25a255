using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Jint;
using Jint.Native;
using Jint.Runtime;

namespace FlowFleet.Runtime.Scripting.Jsonata;

/// <summary>
/// A JSONata expression prepared for one node, as Node-RED's <c>RED.util.prepareJSONataExpression</c> prepares it:
/// compiled by the npm <c>jsonata</c> library (run by Jint), with <c>$flowContext</c>, <c>$globalContext</c>,
/// <c>$env</c> and <c>$clone</c> bound to the node. Prepare it once (a syntax error throws then), evaluate it per
/// message; it is compiled at most once per engine of the shared pool.
/// </summary>
public sealed partial class JsonataExpression
{
    // Node-RED's legacy mode: an expression naming `msg` on its own evaluates against {msg: msg}.
    [GeneratedRegex("""(^|[^a-zA-Z0-9_'".])msg([^a-zA-Z0-9_'"]|$)""")]
    private static partial Regex LegacyMsg();

    private readonly INodeHost? _node;
    private readonly JsonataPool _pool;
    private readonly JsValue?[] _compiled;
    private readonly bool _legacy;
    private JsonataNative? _native;

    private JsonataExpression(string text, INodeHost? node, JsonataPool pool)
    {
        Text = text;
        _node = node;
        _pool = pool;
        _compiled = new JsValue?[pool.Size];
        _legacy = LegacyMsg().IsMatch(text);
    }

    public string Text { get; }

    /// <summary>Compiles <paramref name="text"/> for <paramref name="node"/>; a syntax error throws <see cref="JsonataException"/>.</summary>
    public static JsonataExpression Prepare(string text, INodeHost? node)
    {
        ArgumentNullException.ThrowIfNull(text);
        var expr = new JsonataExpression(text, node, JsonataPool.Shared);
        expr._native = expr._pool.Use(engine => Guard(() =>
        {
            // The library's own parse tree: the plain expressions in it are evaluated directly, the rest in Jint.
            var compiled = expr.CompiledIn(engine);
            return JsonataNative.TryCompile(engine.Engine.Invoke(compiled.AsObject().Get("ast"), compiled, []));
        }));
        return expr;
    }

    /// <summary>
    /// <see cref="Prepare"/> for a node's configured expression: a syntax error is reported on the node as Node-RED's
    /// nodes report it at deploy ("Invalid JSONata expression: ..."), and gives null (the node then ignores messages).
    /// </summary>
    public static JsonataExpression? PrepareOrReport(string text, INodeHost node)
    {
        ArgumentNullException.ThrowIfNull(node);
        try
        {
            return Prepare(text, node);
        }
        catch (JsonataException ex)
        {
            node.Error("Invalid JSONata expression: " + ex.Message);
            return null;
        }
    }

    /// <summary>Evaluates against a message (<c>payload</c> reads <c>msg.payload</c>), as Node-RED's evaluateJSONataExpression.</summary>
    public JsonataResult Evaluate(FlowMessage? msg, IReadOnlyDictionary<string, JsonNode?>? bindings = null) =>
        Evaluate(msg?.Data, bindings, message: true);

    /// <summary>Evaluates against any JSON value (an array element, <c>{}</c> for join's fixup).</summary>
    public JsonataResult Evaluate(JsonNode? input, IReadOnlyDictionary<string, JsonNode?>? bindings = null) =>
        Evaluate(input, bindings, message: false);

    /// <summary>Whether the expression is evaluated directly (without Jint) when its values allow it.</summary>
    public bool IsDirect => _native is not null;

    private JsonataResult Evaluate(JsonNode? input, IReadOnlyDictionary<string, JsonNode?>? bindings, bool message)
    {
        if (_native is not null && _native.TryEvaluate(input, message && _legacy, bindings, _node, out var direct))
        {
            return direct;
        }
        try
        {
            return Run(input, bindings, message);
        }
        catch (JsonataException ex) when (ex.StackExhausted)
        {
            // Deep recursion ran out of this thread's stack before the recursion limit: once more on a thread with room
            // (expressions have no side effects, so a second run gives what the first would have).
            JsonataResult result = default;
            Exception? error = null;
            var thread = new Thread(() =>
            {
                try
                {
                    result = Run(input, bindings, message);
                }
                catch (JsonataException inner)
                {
                    error = inner;
                }
            }, 256 * 1024 * 1024);
            thread.Start();
            thread.Join();
            return error is null ? result : throw error;
        }
    }

    /// <summary>The library's evaluation alone, never the direct one (to check one against the other).</summary>
    internal JsonataResult EvaluateInLibrary(JsonNode? input, IReadOnlyDictionary<string, JsonNode?>? bindings, bool message) =>
        Run(input, bindings, message);

    private JsonataResult Run(JsonNode? input, IReadOnlyDictionary<string, JsonNode?>? bindings, bool message) =>
        _pool.Use(engine => Guard(() =>
        {
            var compiled = CompiledIn(engine);
            engine.Current = _node;
            var value = engine.ToJs(input);
            if (message && _legacy)
            {
                var wrapper = new JsObject(engine.Engine);
                wrapper.Set("msg", value);
                value = wrapper;
            }
            else if (input is null && !message)
            {
                value = JsValue.Undefined;
            }
            var result = engine.Evaluate(compiled, value, engine.Bindings(bindings));
            return result.IsUndefined() ? JsonataResult.Undefined : new JsonataResult(true, JsConvert.ToJson(result));
        }));

    private JsValue CompiledIn(JsonataEngine engine) => _compiled[engine.Index] ??= engine.Compile(Text);

    /// <summary>Turns what the library threw into the message Node-RED would show (<c>err.message</c>).</summary>
    private static T Guard<T>(Func<T> run)
    {
        try
        {
            return run();
        }
        catch (JavaScriptException ex)
        {
            var error = ex.Error;
            var message = error.IsObject() ? error.AsObject().Get("message") : error;
            var code = error.IsObject() ? error.AsObject().Get("code") : JsValue.Undefined;
            var text = message.IsUndefined() ? ex.Message : TypeConverter.ToString(message);
            throw new JsonataException(text, code.IsString() ? code.AsString() : null, ex,
                stackExhausted: text.Contains("Maximum call stack size exceeded", StringComparison.Ordinal) && !code.IsString())
            {
                // JSONata throws plain objects ({code, stack, position, token, message}); Node-RED hands them on as they are.
                Thrown = error.IsObject() && error is not Jint.Native.JsError ? JsConvert.ToJson(error) as JsonObject : null,
            };
        }
        catch (TimeoutException ex)
        {
            throw new JsonataException("Expression evaluation timeout: Check for infinite loop", "U1001", ex);
        }
        catch (RecursionDepthOverflowException ex)
        {
            throw new JsonataException("Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.", "U1001", ex);
        }
        catch (ScriptException ex)
        {
            throw new JsonataException(ex.Message, null, ex);
        }
        catch (JintException ex)
        {
            throw new JsonataException(ex.Message, null, ex);
        }
    }
}

/// <summary>What an expression gave: a JSON value, or nothing (JSONata's <c>undefined</c>: no match).</summary>
public readonly record struct JsonataResult(bool IsDefined, JsonNode? Value)
{
    public static JsonataResult Undefined => default;
}

/// <summary>A JSONata expression failed to compile or to evaluate; the message is the library's, as Node-RED shows it.</summary>
public sealed class JsonataException(string message, string? code, Exception? inner = null, bool stackExhausted = false)
    : InvalidOperationException(message, inner)
{
    /// <summary>JSONata's error code (<c>S0202</c>, <c>T2001</c>...), when it gave one.</summary>
    public string? Code { get; } = code;

    internal bool StackExhausted { get; } = stackExhausted;

    /// <summary>
    /// The plain object the library threw (<c>code</c>, <c>stack</c>, <c>position</c>, <c>token</c>, <c>message</c>), for
    /// nodes that pass it on as Node-RED does (<c>done(err)</c>: catch nodes see <c>"[object Object]"</c> with its code
    /// and stack, the sidebar the object); null when the error was not one.
    /// </summary>
    public JsonObject? Thrown { get; init; }
}
