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
                    _ => JsValue.Null,
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

    /// <summary>Converts a Jint value to JSON; functions and undefined become null (as <c>JSON.stringify</c> drops them).</summary>
    public static JsonNode? ToJson(JsValue value, int depth = 0)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.IsNull() || value.IsUndefined())
        {
            return null;
        }
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
                result.Add(ToJson(arr[i], depth + 1));
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
        if (value.IsDate())
        {
            return JsonValue.Create(value.AsDate().ToDateTime().ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        }
        if (value is ObjectInstance obj && !value.IsRegExp() && obj is not Jint.Native.Function.Function)
        {
            var result = new JsonObject();
            foreach (var (key, descriptor) in obj.GetOwnProperties())
            {
                if (!key.IsString() || !descriptor.Enumerable)
                {
                    continue;
                }
                var v = descriptor.Value ?? obj.Get(key);
                if (v.IsUndefined() || v is Jint.Native.Function.Function)
                {
                    continue;
                }
                result[key.AsString()] = ToJson(v, depth + 1);
            }
            return result;
        }
        return value.IsRegExp() ? JsonValue.Create(value.ToString()) : null;
    }
}
