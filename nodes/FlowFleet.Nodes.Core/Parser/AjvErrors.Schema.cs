using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;
using Json.Schema;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>Schema and instance helpers for the walk: nested results by keyword, type checks, ordering, duplicates, JSON Pointers and schema paths.</summary>
internal static partial class AjvErrors
{
    private sealed record Kid(string Keyword, string Rest, EvaluationResults Result, List<string> Segments);

    private static readonly HashSet<string> s_applicators = new(StringComparer.Ordinal)
    {
        "$ref", "not", "anyOf", "oneOf", "allOf", "if", "then", "else", "items", "additionalItems", "contains", "propertyNames",
        "additionalProperties", "dependencies", "properties", "patternProperties",
    };

    private static readonly HashSet<string> s_keyed = new(StringComparer.Ordinal) { "anyOf", "oneOf", "allOf", "dependencies", "properties", "patternProperties" };

    /// <summary>
    /// The nested results by the keyword of this schema that made them, the key under it (index, name), and where the
    /// subschema sits. The keyword comes from the evaluation path (JsonSchema.Net's schema location of an items subschema
    /// carries an extra segment); a $ref's subschema sits where its schema location says.
    /// </summary>
    private static List<Kid> Children(EvaluationResults r, JsonObject schema, List<string> segments)
    {
        var kids = new List<Kid>();
        var evaluation = r.EvaluationPath.ToString();
        foreach (var child in r.Details ?? [])
        {
            var childEvaluation = child.EvaluationPath.ToString();
            var step = childEvaluation.StartsWith(evaluation, StringComparison.Ordinal) ? Pointer(childEvaluation[evaluation.Length..]) : [];
            var at = step.FindIndex(s_applicators.Contains);
            if (at < 0 || step[at] == "$ref")
            {
                kids.Add(new Kid("$ref", "", child, Fragment(child.SchemaLocation.Fragment)));
                continue;
            }
            var keyword = step[at];
            var keyed = s_keyed.Contains(keyword) || (keyword == "items" && schema["items"] is JsonArray);
            var rest = keyed && at + 1 < step.Count ? step[at + 1] : "";
            if (keyed && schema[keyword] is JsonObject map && !map.ContainsKey(rest))
            {
                // a key holding "/" or "~": the evaluation path may not escape it, so take the whole remainder
                var raw = childEvaluation[evaluation.Length..];
                var start = raw.IndexOf("/" + keyword + "/", StringComparison.Ordinal);
                var whole = start < 0 ? "" : raw[(start + keyword.Length + 2)..];
                rest = map.ContainsKey(whole) ? whole : Pointer(r.InstanceLocation.ToString()).Count < Pointer(child.InstanceLocation.ToString()).Count
                    ? Pointer(child.InstanceLocation.ToString())[^1] : rest;
            }
            kids.Add(new Kid(keyword, rest, child, keyed ? [.. segments, keyword, rest] : [.. segments, keyword]));
        }
        return kids;
    }

    private static bool IsType(string type, JsonNode? data) => (type, JsonTools.Kind(data)) switch
    {
        ("number", JsonValueKind.Number) or ("string", JsonValueKind.String) => true,
        ("array", JsonValueKind.Array) or ("object", JsonValueKind.Object) => true,
        _ => false,
    };

    private static bool IsScalar(string type, JsonNode? item) => (type, JsonTools.Kind(item)) switch
    {
        ("null", JsonValueKind.Null) or ("boolean", JsonValueKind.True or JsonValueKind.False) or ("string", JsonValueKind.String) => true,
        ("number", JsonValueKind.Number) => true,
        ("integer", JsonValueKind.Number) => JsonTools.ToNumber(item) % 1 == 0,
        _ => false,
    };

    private static int Order(JsonNode? keywordValue, string key) => keywordValue switch
    {
        JsonObject o => o.Select(p => p.Key).ToList().IndexOf(key),
        _ => int.TryParse(key, out var i) ? i : 0,
    };

    private static int InstanceOrder(JsonNode? data, EvaluationResults r)
    {
        var key = Pointer(r.InstanceLocation.ToString()).LastOrDefault() ?? "";
        return data is JsonObject o ? o.Select(p => p.Key).ToList().IndexOf(key) : int.TryParse(key, out var i) ? i : 0;
    }

    private static IEnumerable<string> Additional(JsonObject s, JsonObject data)
    {
        var declared = s["properties"] as JsonObject;
        var patterns = (s["patternProperties"] as JsonObject)?.Select(p => new Regex(p.Key, RegexOptions.None, TimeSpan.FromSeconds(1))).ToList() ?? [];
        return data.Select(p => p.Key).Where(k => declared?.ContainsKey(k) != true && !patterns.Any(p => p.IsMatch(k)));
    }

    /// <summary>ajv's pair for duplicate items: a last-seen index per scalar value when items have scalar types, else pairwise from the end.</summary>
    private static (int I, int J)? Duplicate(JsonArray array, JsonNode? items)
    {
        var itemTypes = items is JsonObject o ? o["type"] switch { JsonArray a => a.Select(JsonTools.Text).ToList(), JsonValue t => [JsonTools.Text(t)], _ => [] } : [];
        if (itemTypes.Count > 0 && !itemTypes.Any(t => t is "object" or "array"))
        {
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = array.Count - 1; i >= 0; i--)
            {
                if (!itemTypes.Any(t => t is not null && IsScalar(t, array[i])))
                {
                    continue; // ajv's fast loop skips items of other types
                }
                var key = array[i]?.ToJsonString() ?? "null";
                if (seen.TryGetValue(key, out var j))
                {
                    return (i, j);
                }
                seen[key] = i;
            }
            return null;
        }
        for (var i = array.Count - 1; i >= 0; i--)
        {
            for (var j = i - 1; j >= 0; j--)
            {
                if (JsonTools.DeepEquals(array[i], array[j]))
                {
                    return (i, j);
                }
            }
        }
        return null;
    }

    private static JsonObject Error(string instancePath, string schemaPath, string keyword, JsonObject parameters, string message, string? propertyName)
    {
        var error = new JsonObject { ["instancePath"] = instancePath, ["schemaPath"] = schemaPath, ["keyword"] = keyword, ["params"] = parameters, ["message"] = message };
        if (propertyName is not null)
        {
            error["propertyName"] = propertyName;
        }
        return error;
    }

    private static JsonNode? At(JsonNode? node, List<string> segments)
    {
        foreach (var segment in segments)
        {
            node = node switch
            {
                JsonObject o => o.TryGetPropertyValue(segment, out var v) ? v : null,
                JsonArray a when int.TryParse(segment, out var i) && i >= 0 && i < a.Count => a[i],
                _ => null,
            };
        }
        return node;
    }

    /// <summary>A URI fragment ("#/properties/a%5E") as JSON Pointer segments.</summary>
    private static List<string> Fragment(string fragment) => Pointer(Uri.UnescapeDataString(fragment.TrimStart('#')));

    private static List<string> Pointer(string pointer) =>
        pointer.Length == 0 ? [] : pointer.Split('/').Skip(1).Select(p => p.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToList();

    private static string Escape(string segment) => segment.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string Path(List<string> segments) => string.Concat(segments.Select(s => "/" + Escape(s)));

    /// <summary>ajv's schemaPath: "#" and each segment JSON-Pointer-escaped, then as <c>encodeURIComponent</c> writes it.</summary>
    private static string SchemaPath(List<string> segments)
    {
        var path = new StringBuilder("#");
        foreach (var segment in segments)
        {
            path.Append('/');
            foreach (var b in Encoding.UTF8.GetBytes(Escape(segment)))
            {
                var c = (char)b;
                if (char.IsAsciiLetterOrDigit(c) || "-_.!~*'()".Contains(c, StringComparison.Ordinal))
                {
                    path.Append(c);
                }
                else
                {
                    path.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        }
        return path.ToString();
    }
}
