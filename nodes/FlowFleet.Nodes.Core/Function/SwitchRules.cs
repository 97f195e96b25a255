using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>The comparison operators of Node-RED's switch node, with JavaScript's coercions.</summary>
internal static class SwitchRules
{
    public static bool Test(string op, JsonNode? a, bool exists, JsonNode? b, JsonNode? c, bool ignoreCase, JsonObject? parts)
    {
        switch (op)
        {
            // JavaScript semantics throughout: a missing property is undefined (== null, never < or > anything).
            case "eq": return JsonTools.LooseEquals(a, b);
            case "neq": return !JsonTools.LooseEquals(a, b);
            case "lt": return exists && Compare(a, b) is { } lt && lt < 0;
            case "lte": return exists && Compare(a, b) is { } lte && lte <= 0;
            case "gt": return exists && Compare(a, b) is { } gt && gt > 0;
            case "gte": return exists && Compare(a, b) is { } gte && gte >= 0;
            case "btwn":
                return exists && ((Compare(a, b) >= 0 && Compare(a, c) <= 0) || (Compare(a, b) <= 0 && Compare(a, c) >= 0));
            case "cont": return JsonTools.ToJsString(exists ? a : null).Contains(JsonTools.ToJsString(b), StringComparison.Ordinal);
            case "regex":
                return Regex.IsMatch(JsonTools.ToJsString(exists ? a : null), JsonTools.ToJsString(b),
                    (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None) | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            case "true": return JsonTools.Kind(a) == JsonValueKind.True;
            case "false": return JsonTools.Kind(a) == JsonValueKind.False;
            case "null": return !exists || JsonTools.Kind(a) == JsonValueKind.Null;
            case "nnull": return exists && JsonTools.Kind(a) != JsonValueKind.Null;
            case "empty": return IsEmpty(a) == true;
            case "nempty": return IsEmpty(a) == false;
            case "istype": return IsType(a, exists, JsonTools.ToJsString(b));
            case "hask":
                {
                    var key = JsonTools.ToJsString(b);
                    return a switch
                    {
                        JsonObject o => o.ContainsKey(key),
                        JsonArray arr => int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < arr.Count,
                        _ => false,
                    };
                }
            case "head": return parts is not null && JsonTools.ToNumber(parts["index"]) < JsonTools.ToNumber(b);
            case "tail": return parts is not null && JsonTools.ToNumber(parts["index"]) >= JsonTools.ToNumber(parts["count"]) - JsonTools.ToNumber(b);
            case "index":
                {
                    var i = JsonTools.ToNumber(parts?["index"]);
                    return parts is not null && i >= JsonTools.ToNumber(b) && i <= JsonTools.ToNumber(c);
                }
            case "jsonata_exp": return JsonTools.Kind(b) == JsonValueKind.True;
            default:
                throw new InvalidOperationException($"Unknown switch rule '{op}'");
        }
    }

    /// <summary>JavaScript's relational comparison: strings compare as strings, anything else as numbers.</summary>
    private static int? Compare(JsonNode? a, JsonNode? b)
    {
        if (JsonTools.IsString(a, out var sa) && JsonTools.IsString(b, out var sb))
        {
            return string.CompareOrdinal(sa, sb);
        }
        var x = JsonTools.ToNumber(a);
        var y = JsonTools.ToNumber(b);
        return double.IsNaN(x) || double.IsNaN(y) ? null : x.CompareTo(y);
    }

    private static bool? IsEmpty(JsonNode? a) => a switch
    {
        JsonArray arr => arr.Count == 0,
        JsonObject o when JsonTools.IsBuffer(o) => o["data"]!.AsArray().Count == 0,
        JsonObject o => o.Count == 0,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>().Length == 0,
        _ => null,
    };

    private static bool IsType(JsonNode? a, bool exists, string type) => type switch
    {
        "array" => a is JsonArray,
        "buffer" => JsonTools.IsBuffer(a),
        "object" => a is JsonObject && !JsonTools.IsBuffer(a),
        // JSON.parse(String(a)): numbers, booleans and null parse too; objects ("[object Object]") and undefined do not.
        "json" => exists && (a is null || IsJson(a is JsonArray arr ? string.Join(",", arr.Select(x => x is null ? "" : JsonTools.ToJsString(x))) : a is JsonObject ? "[object Object]" : JsonTools.ToJsString(a))),
        "null" => exists && JsonTools.Kind(a) == JsonValueKind.Null,
        "undefined" => !exists,
        _ => exists && JsonTools.Kind(a) != JsonValueKind.Null && JsonTools.TypeOf(a) == type,
    };

    private static bool IsJson(string s)
    {
        try
        {
            JsonDocument.Parse(s).Dispose();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Node-RED: a rule value without a type is a number when it parses as one, else a string.</summary>
    public static string DefaultValueType(string? v) =>
        !string.IsNullOrEmpty(v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? "num" : "str";
}
