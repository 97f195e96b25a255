using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using Jint;
using JsEngine = Jint.Engine;
using Jint.Native;
using Jint.Native.Object;

namespace FlowFleet.Runtime.Scripting;

/// <summary>Copies values between System.Text.Json nodes and Jint values (a copy is a deep clone both ways).</summary>
public static class JsConvert
{
    private const int MaxDepth = 64;

    public static JsValue ToJs(JsEngine engine, JsonNode? node, int depth = 0)
    {
        ArgumentNullException.ThrowIfNull(engine);
        switch (node)
        {
            case null:
                return JsValue.Null;
            case JsonValue v:
                return v.GetValueKind() switch
                {
                    JsonValueKind.String => new JsString(v.GetValue<string>()),
                    JsonValueKind.Number => JsNumber.Create(JsonTools.AsDouble(v)),
                    JsonValueKind.True => JsBoolean.True,
                    JsonValueKind.False => JsBoolean.False,
                    _ => JsSpecial.Of(v) is { } special ? ToJs(engine, special) : JsValue.Null,
                };
            case JsonArray a:
                {
                    if (depth > MaxDepth)
                    {
                        throw new InvalidOperationException("Message is nested too deeply");
                    }
                    var items = new JsValue[a.Count];
                    for (var i = 0; i < items.Length; i++)
                    {
                        items[i] = ToJs(engine, a[i], depth + 1);
                    }
                    return new JsArray(engine, items);
                }
            case JsonObject o when JsonTools.IsBuffer(o) && ScriptBuffer.From(engine, o) is { } buffer:
                return buffer;
            case JsonObject o:
                {
                    if (depth > MaxDepth)
                    {
                        throw new InvalidOperationException("Message is nested too deeply");
                    }
                    var obj = new JsObject(engine);
                    foreach (var (key, value) in o)
                    {
                        obj.CreateDataProperty(key, ToJs(engine, value, depth + 1));
                    }
                    return obj;
                }
            default:
                return JsValue.Undefined;
        }
    }

    private static JsValue ToJs(JsEngine engine, JsSpecial special)
    {
        switch (special.Kind)
        {
            case JsSpecialKind.Number:
                return JsNumber.Create(special.Number);
            case JsSpecialKind.Error:
                var info = special.Error!;
                var ctor = engine.Intrinsics.Error;
                var error = ctor.Construct([new JsString(info.Message)], ctor);
                error.Set("name", info.Name);
                if (info.Stack is not null)
                {
                    error.Set("stack", info.Stack);
                }
                return error;
            default:
                return JsValue.Undefined;
        }
    }

    /// <summary>
    /// Converts a Jint value to JSON; a top-level undefined becomes null, undefined inside objects and arrays, NaN,
    /// Infinity and Error objects become <see cref="JsSpecial"/> values (as Node-RED keeps them in a message);
    /// functions are dropped.
    /// </summary>
    public static JsonNode? ToJson(JsValue value, int depth = 0)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.IsNull() || value.IsUndefined())
        {
            return null;
        }
        return ToJsonValue(value, depth);
    }

    /// <summary>A value inside an object or array: undefined is kept as <see cref="JsSpecial.Undefined"/>.</summary>
    private static JsonNode? Member(JsValue value, int depth) =>
        value.IsUndefined() ? JsSpecial.UndefinedNode() : ToJson(value, depth);

    private static JsonNode? ToJsonValue(JsValue value, int depth)
    {
        if (value.IsString())
        {
            return JsonValue.Create(value.AsString());
        }
        if (value.IsNumber())
        {
            return JsonTools.Number(value.AsNumber());
        }
        if (value.IsBoolean())
        {
            return JsonValue.Create(value.AsBoolean());
        }
        if (depth > MaxDepth)
        {
            throw new InvalidOperationException("Value is nested too deeply (or circular)");
        }
        if (value is Jint.Native.JsTypedArray typed)
        {
            // Buffers (and other typed arrays) travel as Node.js serializes a Buffer.
            return ScriptBuffer.ToJson(typed);
        }
        if (value.IsArray())
        {
            var arr = value.AsArray();
            var result = new JsonArray();
            var length = arr.Length;
            for (uint i = 0; i < length; i++)
            {
                result.Add(Member(arr[i], depth + 1));
            }
            return result;
        }
        if (value is JsonObjectView view)
        {
            if (depth > MaxDepth)
            {
                throw new InvalidOperationException("Value is nested too deeply (or circular)");
            }
            // A copy: the message stays the script's (it may change it and send it again).
            return view.Commit(depth).DeepClone();
        }
        if (value is Jint.Native.JsError err)
        {
            return JsSpecial.ForError(err.Get("name").ToString(), err.Get("message").ToString(),
                err.Get("stack") is { } stack && stack.IsString() ? stack.AsString() : null).ToNode();
        }
        if (value.IsDate())
        {
            return JsonValue.Create(value.AsDate().ToDateTime().ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        }
        if (value is ObjectInstance obj && !value.IsRegExp() && obj is not Jint.Native.Function.Function)
        {
            var result = new JsonObject();
            // Own string keys in the order JSON.stringify lists them (integer-like keys first, as V8 does): Jint hands a
            // plain object's keys from its shape without a string per key, where enumerating GetOwnProperties built an
            // iterator, a key array, a string and a descriptor per property for every message a script sent.
            var keys = obj.GetOwnPropertyKeys(Jint.Runtime.Types.String);
            for (var i = 0; i < keys.Count; i++)
            {
                var key = keys[i];
                var descriptor = obj.GetOwnProperty(key);
                if (descriptor == Jint.Runtime.Descriptors.PropertyDescriptor.Undefined || !descriptor.Enumerable)
                {
                    continue;
                }
                var v = descriptor.Value ?? obj.Get(key);
                if (v is Jint.Native.Function.Function)
                {
                    continue;
                }
                result[key.AsString()] = Member(v, depth + 1);
            }
            return result;
        }
        return value.IsRegExp() ? JsonValue.Create(value.ToString()) : null;
    }
}
