using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Messages;

/// <summary>JavaScript-flavoured helpers over <see cref="JsonNode"/>: the coercions Node-RED's nodes rely on.</summary>
public static class JsonTools
{
    /// <summary>A node that can be attached to a new parent: the node itself if it has none, else a deep copy.</summary>
    public static JsonNode? Detach(JsonNode? node) => node is null || node.Parent is null ? node : JsonDepth.Clone(node);

    /// <summary>The string a node holds; null for anything else (never throws, unlike <c>GetValue&lt;string&gt;</c>).</summary>
    public static string? Text(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.TryGetValue<string>(out var s) ? s : null;

    public static JsonValueKind Kind(JsonNode? node) => node?.GetValueKind() ?? JsonValueKind.Null;

    public static bool IsString(JsonNode? node, out string value)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            value = v.GetValue<string>();
            return true;
        }
        value = "";
        return false;
    }

    public static bool IsNumber(JsonNode? node, out double value)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            value = AsDouble(v);
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>The numeric value of a JSON number node, whatever CLR type backs it.</summary>
    public static double AsDouble(JsonValue v)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (v.TryGetValue<double>(out var d))
        {
            return d;
        }
        if (v.TryGetValue<long>(out var l))
        {
            return l;
        }
        if (v.TryGetValue<int>(out var i))
        {
            return i;
        }
        if (v.TryGetValue<decimal>(out var m))
        {
            return (double)m;
        }
        if (v.TryGetValue<float>(out var f))
        {
            return f;
        }
        if (v.TryGetValue<ulong>(out var ul))
        {
            return ul;
        }
        if (v.TryGetValue<short>(out var sh))
        {
            return sh;
        }
        if (v.TryGetValue<byte>(out var by))
        {
            return by;
        }
        if (v.TryGetValue<uint>(out var ui))
        {
            return ui;
        }
        return v.TryGetValue<System.Text.Json.JsonElement>(out var e) && e.ValueKind == JsonValueKind.Number ? e.GetDouble() : double.NaN;
    }

    /// <summary>JavaScript's <c>Number(x)</c>.</summary>
    public static double ToNumber(JsonNode? node)
    {
        switch (Kind(node))
        {
            case JsonValueKind.Number: return AsDouble(node!.AsValue());
            case JsonValueKind.True: return 1;
            case JsonValueKind.False: return 0;
            case JsonValueKind.Null: return JsSpecial.Of(node) is { } special ? special.Number : 0;
            case JsonValueKind.String: return StringToNumber(node!.GetValue<string>());
            case JsonValueKind.Array:
                var a = node!.AsArray();
                return a.Count == 0 ? 0 : a.Count == 1 ? ToNumber(a[0]) : double.NaN;
            default: return double.NaN;
        }
    }

    public static double StringToNumber(string s)
    {
        s = s.Trim();
        if (s.Length == 0)
        {
            return 0;
        }
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) &&
            long.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hex))
        {
            return hex;
        }
        if (s is "Infinity" or "+Infinity")
        {
            return double.PositiveInfinity;
        }
        if (s == "-Infinity")
        {
            return double.NegativeInfinity;
        }
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN;
    }

    /// <summary>JavaScript truthiness.</summary>
    public static bool IsTruthy(JsonNode? node) => Kind(node) switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.False => false,
        JsonValueKind.Number => AsDouble(node!.AsValue()) is var d && d != 0 && !double.IsNaN(d),
        JsonValueKind.String => node!.GetValue<string>().Length > 0,
        _ => true,
    };

    /// <summary>JavaScript's <c>String(x)</c>, with objects as JSON (as Node-RED's debug and template do).</summary>
    public static string ToJsString(JsonNode? node) => Kind(node) switch
    {
        JsonValueKind.Null => node is null ? "undefined" : JsSpecial.Of(node)?.ToString() ?? "null",
        JsonValueKind.String => node!.GetValue<string>(),
        JsonValueKind.Number => FormatNumber(AsDouble(node!.AsValue())),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => node!.ToJsonString(),
    };

    public static string FormatNumber(double d)
    {
        if (double.IsNaN(d))
        {
            return "NaN";
        }
        if (double.IsInfinity(d))
        {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        return d == Math.Floor(d) && Math.Abs(d) < 1e21 ? ((decimal)d).ToString(CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A JSON number node, integral when the value is integral (so it prints as JavaScript prints it).</summary>
    public static JsonNode? Number(double d)
    {
        if (double.IsNaN(d) || double.IsInfinity(d))
        {
            return JsSpecial.ForNumber(d).ToNode();
        }
        if (d == Math.Floor(d) && Math.Abs(d) < 9e15)
        {
            return JsonValue.Create((long)d);
        }
        return JsonValue.Create(d);
    }

    /// <summary>JavaScript's loose equality <c>a == b</c> for JSON values.</summary>
    public static bool LooseEquals(JsonNode? a, JsonNode? b)
    {
        var ka = Kind(a);
        var kb = Kind(b);
        if (ka == JsonValueKind.Null || kb == JsonValueKind.Null)
        {
            return ka == kb;
        }
        if (ka is JsonValueKind.Object or JsonValueKind.Array || kb is JsonValueKind.Object or JsonValueKind.Array)
        {
            if (ReferenceEquals(a, b))
            {
                return true;
            }
            if (ka is JsonValueKind.Object or JsonValueKind.Array && kb is JsonValueKind.Object or JsonValueKind.Array)
            {
                return false;
            }
            var prim = ka is JsonValueKind.Object or JsonValueKind.Array ? b : a;
            var obj = ka is JsonValueKind.Object or JsonValueKind.Array ? a : b;
            var primitive = obj is JsonArray arr ? string.Join(",", arr.Select(x => x is null ? "" : ToJsString(x))) : "[object Object]";
            return LooseEquals(JsonValue.Create(primitive), prim);
        }
        if (ka == JsonValueKind.String && kb == JsonValueKind.String)
        {
            return a!.GetValue<string>() == b!.GetValue<string>();
        }
        return ToNumber(a) == ToNumber(b);
    }

    /// <summary>JavaScript's <c>typeof</c>, with <c>array</c>, <c>null</c> and <c>buffer</c> told apart as Node-RED's switch does.</summary>
    public static string TypeOf(JsonNode? node) => Kind(node) switch
    {
        JsonValueKind.Null => node is null ? "undefined" : JsSpecial.Of(node)?.Kind switch
        {
            JsSpecialKind.Undefined => "undefined",
            JsSpecialKind.Number => "number",
            JsSpecialKind.Error => "object",
            _ => "null",
        },
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Array => "array",
        _ => IsBuffer(node) ? "buffer" : "object",
    };

    /// <summary>Buffers travel as Node.js serializes them: <c>{"type":"Buffer","data":[...]}</c>.</summary>
    public static bool IsBuffer(JsonNode? node) =>
        node is JsonObject o && o.Count == 2 && o["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String &&
        t.GetValue<string>() == "Buffer" && o["data"] is JsonArray;

    public static JsonObject Buffer(ReadOnlySpan<byte> bytes)
    {
        var data = new JsonArray();
        foreach (var b in bytes)
        {
            data.Add(JsonValue.Create((int)b));
        }
        return new JsonObject { ["type"] = "Buffer", ["data"] = data };
    }

    public static byte[] BufferBytes(JsonNode node) =>
        node["data"]!.AsArray().Select(x => (byte)ToNumber(x)).ToArray();

    /// <summary>Parses JSON text into a node; throws <see cref="JsonException"/> on bad input.</summary>
    public static JsonNode? Parse(string json) => JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });

    public static bool DeepEquals(JsonNode? a, JsonNode? b) => JsonDepth.DeepEquals(a, b);
}
