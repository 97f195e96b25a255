using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>JavaScript semantics the ported nodes rely on that <see cref="JsonTools"/> does not cover.</summary>
internal static partial class JsValues
{
    /// <summary>JavaScript's <c>parseFloat(x)</c>: the leading number of <c>String(x)</c>, NaN when there is none.</summary>
    public static double ParseFloat(JsonNode? value)
    {
        if (JsonTools.IsNumber(value, out var d))
        {
            return d;
        }
        if (value is JsonObject or JsonArray && value is not JsonArray { Count: 1 })
        {
            return double.NaN;
        }
        var text = value is JsonArray one ? JsonTools.ToJsString(one[0]) : JsonTools.ToJsString(value);
        var m = LeadingFloat().Match(text);
        if (!m.Success)
        {
            return double.NaN;
        }
        var s = m.Value.TrimStart();
        return s.EndsWith("Infinity", StringComparison.Ordinal)
            ? s.StartsWith('-') ? double.NegativeInfinity : double.PositiveInfinity
            : double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>JavaScript's <c>a === b</c> for JSON values (objects and arrays equal only to themselves).</summary>
    public static bool StrictEquals(JsonNode? a, JsonNode? b)
    {
        var ka = JsonTools.Kind(a);
        var kb = JsonTools.Kind(b);
        if (ka is JsonValueKind.Object or JsonValueKind.Array || kb is JsonValueKind.Object or JsonValueKind.Array)
        {
            return ReferenceEquals(a, b);
        }
        if (ka != kb || (ka == JsonValueKind.Null && (a is null) != (b is null)))
        {
            return false;
        }
        return ka switch
        {
            JsonValueKind.Number => JsonTools.AsDouble(a!.AsValue()) == JsonTools.AsDouble(b!.AsValue()),
            JsonValueKind.String => a!.GetValue<string>() == b!.GetValue<string>(),
            _ => true,
        };
    }

    /// <summary>JavaScript's <c>a &gt; b</c>: strings compare by UTF-16 code units, anything else as numbers.</summary>
    public static bool GreaterThan(JsonNode? a, JsonNode? b)
    {
        var sa = ToPrimitive(a);
        var sb = ToPrimitive(b);
        if (JsonTools.IsString(sa, out var x) && JsonTools.IsString(sb, out var y))
        {
            return string.CompareOrdinal(x, y) > 0;
        }
        return JsonTools.ToNumber(sa) > JsonTools.ToNumber(sb);
    }

    /// <summary>Node-RED's <c>RED.util.compareObjects</c>: deep equality of JSON-like values.</summary>
    public static bool DeepEquals(JsonNode? a, JsonNode? b)
    {
        if (a is JsonObject oa && b is JsonObject ob)
        {
            return oa.Count == ob.Count && oa.All(kv => ob.TryGetPropertyValue(kv.Key, out var v) && DeepEquals(kv.Value, v));
        }
        if (a is JsonArray aa && b is JsonArray ab)
        {
            return aa.Count == ab.Count && aa.Zip(ab).All(p => DeepEquals(p.First, p.Second));
        }
        return a is not JsonObject and not JsonArray && b is not JsonObject and not JsonArray && StrictEquals(a, b);
    }

    private static JsonNode? ToPrimitive(JsonNode? v) => v switch
    {
        JsonArray arr => JsonValue.Create(string.Join(",", arr.Select(x => x is null ? "" : JsonTools.ToJsString(x)))),
        JsonObject => JsonValue.Create("[object Object]"),
        _ => v,
    };

    [GeneratedRegex(@"^\s*[+-]?(Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)")]
    private static partial Regex LeadingFloat();
}
