using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;
using Json.Schema;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>
/// JsonSchema.Net's hierarchical results as ajv 8 reports them with <c>allErrors</c> (Node-RED's <c>msg.schemaError</c>):
/// <c>instancePath</c>, <c>schemaPath</c>, <c>keyword</c>, <c>params</c> and ajv's English <c>message</c>, in the order
/// ajv's generated code emits them — the type first unless the schema has keywords of its one type (then in that type's
/// group), then <c>$ref</c>, <c>const</c>, <c>enum</c>, <c>not</c>, <c>anyOf</c>, <c>oneOf</c>, <c>allOf</c>, <c>if</c>, then the
/// number, string, array and object keywords; one error per missing required or additional property, as ajv does.
/// </summary>
internal static class AjvErrors
{
    private static readonly string[] s_nullGroup = ["$ref", "const", "enum", "not", "anyOf", "oneOf", "allOf", "if"];

    private static readonly (string Type, string[] Keywords)[] s_groups =
    [
        ("number", ["maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf"]),
        ("string", ["maxLength", "minLength", "pattern"]),
        ("array", ["maxItems", "minItems", "additionalItems", "items", "contains", "uniqueItems"]),
        ("object", ["maxProperties", "minProperties", "required", "propertyNames", "additionalProperties", "dependencies", "properties", "patternProperties"]),
    ];

    private static readonly Dictionary<string, (string Comparison, string Text)> s_limits = new(StringComparer.Ordinal)
    {
        ["maximum"] = ("<=", ""), ["minimum"] = (">=", ""), ["exclusiveMaximum"] = ("<", ""), ["exclusiveMinimum"] = (">", ""),
        ["maxLength"] = ("", "more than {0} characters"), ["minLength"] = ("", "fewer than {0} characters"),
        ["maxItems"] = ("", "more than {0} items"), ["minItems"] = ("", "fewer than {0} items"),
        ["maxProperties"] = ("", "more than {0} properties"), ["minProperties"] = ("", "fewer than {0} properties"),
    };

    /// <summary>ajv's report for the schema <c>false</c>.</summary>
    public static JsonArray FalseSchema() => [Error("", "#/false schema", "false schema", [], "boolean schema is false", null)];

    public static JsonArray From(EvaluationResults results, JsonNode root, JsonNode? instance)
    {
        var errors = new JsonArray();
        new Walker(root, instance, errors).Walk(results, [], null);
        if (errors.Count == 0)
        {
            Fallback(results, errors); // a failure the mapping does not know: JsonSchema.Net's own words
        }
        return errors;
    }

    /// <summary>The subschema a local reference ("#/definitions/x") points at, or null.</summary>
    public static JsonNode? Resolve(JsonNode root, string reference) => At(root, Fragment(reference));

    private static void Fallback(EvaluationResults r, JsonArray errors)
    {
        foreach (var (keyword, message) in r.Errors ?? new Dictionary<string, string>())
        {
            errors.Add(Error(Path(Pointer(r.InstanceLocation.ToString())), SchemaPath(Fragment(r.SchemaLocation.Fragment)) + "/" + keyword, keyword, [], message, null));
        }
        foreach (var child in r.Details ?? [])
        {
            if (!child.IsValid)
            {
                Fallback(child, errors);
            }
        }
    }

    private sealed record Scope(string InstancePath, JsonNode? Data, string? PropertyName);

    private sealed class Walker(JsonNode root, JsonNode? instance, JsonArray errors)
    {
        public void Walk(EvaluationResults r, List<string> segments, Scope? inherited)
        {
            var schemaPath = SchemaPath(segments);
            var location = Pointer(r.InstanceLocation.ToString());
            var scope = inherited ?? new Scope(Path(location), At(instance, location), null);
            var schema = At(root, segments);
            if (schema is JsonValue v && v.GetValueKind() == JsonValueKind.False)
            {
                Add(scope, schemaPath + "/false schema", "false schema", [], "boolean schema is false");
                return;
            }
            if (schema is not JsonObject s)
            {
                return;
            }
            var kids = Children(r, s, segments);
            var own = r.Errors ?? new Dictionary<string, string>();
            var types = s["type"] switch
            {
                JsonArray a => a.Select(t => JsonTools.Text(t) ?? "").ToList(),
                JsonValue t => [JsonTools.Text(t) ?? ""],
                _ => [],
            };
            var typeFailed = own.ContainsKey("type");
            var typeGroup = types.Count == 1 ? s_groups.FirstOrDefault(g => g.Type == types[0] && g.Keywords.Any(s.ContainsKey)).Type : null;
            void TypeError() => Add(scope, schemaPath + "/type", "type", new JsonObject { ["type"] = s["type"]!.DeepClone() }, "must be " + string.Join(",", types));
            if (typeFailed && typeGroup is null)
            {
                TypeError();
            }
            foreach (var keyword in s_nullGroup.Where(s.ContainsKey))
            {
                Keyword(keyword, s, schemaPath, scope, own, kids);
            }
            foreach (var (type, keywords) in s_groups.Where(g => g.Keywords.Any(s.ContainsKey)))
            {
                if (IsType(type, scope.Data))
                {
                    foreach (var keyword in keywords.Where(s.ContainsKey))
                    {
                        Keyword(keyword, s, schemaPath, scope, own, kids);
                    }
                }
                else if (typeFailed && typeGroup == type)
                {
                    TypeError();
                }
            }
        }

        private void Keyword(string keyword, JsonObject s, string schemaPath, Scope scope, IReadOnlyDictionary<string, string> own, List<Kid> kids)
        {
            var value = s[keyword];
            var at = schemaPath + "/" + keyword;
            var mine = kids.Where(k => k.Keyword == keyword).ToList();
            var failing = mine.Where(k => !k.Result.IsValid).ToList();
            switch (keyword)
            {
                case "$ref" or "allOf" or "properties":
                    failing.ForEach(k => Walk(k.Result, k.Segments, Inherit(scope)));
                    break;
                case "const" when own.ContainsKey(keyword):
                    Add(scope, at, keyword, new JsonObject { ["allowedValue"] = value?.DeepClone() }, "must be equal to constant");
                    break;
                case "enum" when own.ContainsKey(keyword):
                    Add(scope, at, keyword, new JsonObject { ["allowedValues"] = value?.DeepClone() }, "must be equal to one of the allowed values");
                    break;
                case "not" when mine.Any(k => k.Result.IsValid) || own.ContainsKey(keyword):
                    Add(scope, at, keyword, [], "must NOT be valid");
                    break;
                case "anyOf" when mine.Count > 0 && failing.Count == mine.Count:
                    failing.ForEach(k => Walk(k.Result, k.Segments, Inherit(scope)));
                    Add(scope, at, keyword, [], "must match a schema in anyOf");
                    break;
                case "oneOf":
                    // ajv stops at the second passing branch: errors of failing branches after it are never made
                    var passing = new List<int>();
                    var before = new List<Kid>();
                    foreach (var k in mine.OrderBy(k => Order(value, k.Rest)))
                    {
                        if (!k.Result.IsValid)
                        {
                            before.Add(k);
                        }
                        else if (passing.Count == 1)
                        {
                            passing.Add(Order(value, k.Rest));
                            break;
                        }
                        else
                        {
                            passing.Add(Order(value, k.Rest));
                        }
                    }
                    if (passing.Count != 1)
                    {
                        before.ForEach(k => Walk(k.Result, k.Segments, Inherit(scope)));
                        Add(scope, at, keyword, new JsonObject { ["passingSchemas"] = passing.Count == 0 ? null : new JsonArray(passing[0], passing[1]) }, "must match exactly one schema in oneOf");
                    }
                    break;
                case "if":
                    foreach (var branch in new[] { "then", "else" })
                    {
                        var failed = kids.Where(k => k.Keyword == branch && !k.Result.IsValid).ToList();
                        if (failed.Count > 0)
                        {
                            failed.ForEach(k => Walk(k.Result, k.Segments, Inherit(scope)));
                            Add(scope, at, keyword, new JsonObject { ["failingKeyword"] = branch }, $"must match \"{branch}\" schema");
                        }
                    }
                    break;
                case "multipleOf" when own.ContainsKey(keyword):
                    Add(scope, at, keyword, new JsonObject { ["multipleOf"] = value?.DeepClone() }, "must be multiple of " + JsonTools.ToJsString(value));
                    break;
                case "pattern" when own.ContainsKey(keyword):
                    Add(scope, at, keyword, new JsonObject { ["pattern"] = value?.DeepClone() }, $"must match pattern \"{JsonTools.Text(value)}\"");
                    break;
                case "required" when own.ContainsKey(keyword) && scope.Data is JsonObject data:
                    foreach (var name in (value as JsonArray ?? []).Select(n => JsonTools.Text(n) ?? "").Where(n => !data.ContainsKey(n)))
                    {
                        Add(scope, at, keyword, new JsonObject { ["missingProperty"] = name }, $"must have required property '{name}'");
                    }
                    break;
                case "uniqueItems" when own.ContainsKey(keyword) && scope.Data is JsonArray array:
                    if (Duplicate(array, s["items"]) is var (i, j))
                    {
                        Add(scope, at, keyword, new JsonObject { ["i"] = i, ["j"] = j }, $"must NOT have duplicate items (items ## {j} and {i} are identical)");
                    }
                    break;
                case "items" or "patternProperties":
                    // per index or pattern as the schema lists them, then per item as the data holds them
                    foreach (var k in failing.OrderBy(k => Order(s[keyword], k.Rest)).ThenBy(k => InstanceOrder(scope.Data, k.Result)))
                    {
                        Walk(k.Result, k.Segments, Inherit(scope));
                    }
                    break;
                case "additionalItems" when value is JsonValue f && f.GetValueKind() == JsonValueKind.False:
                    if (failing.Count > 0 || own.ContainsKey(keyword))
                    {
                        Add(scope, at, keyword, new JsonObject { ["limit"] = (s["items"] as JsonArray)?.Count ?? 0 }, $"must NOT have more than {(s["items"] as JsonArray)?.Count ?? 0} items");
                    }
                    break;
                case "additionalProperties" when value is JsonValue f && f.GetValueKind() == JsonValueKind.False:
                    if (scope.Data is JsonObject target)
                    {
                        foreach (var name in Additional(s, target))
                        {
                            Add(scope, at, keyword, new JsonObject { ["additionalProperty"] = name }, "must NOT have additional properties");
                        }
                    }
                    break;
                case "additionalItems" or "additionalProperties":
                    foreach (var k in failing.OrderBy(k => InstanceOrder(scope.Data, k.Result)))
                    {
                        Walk(k.Result, k.Segments, Inherit(scope));
                    }
                    break;
                case "contains" when failing.Count == mine.Count:
                    foreach (var k in failing.OrderBy(k => InstanceOrder(scope.Data, k.Result)))
                    {
                        Walk(k.Result, k.Segments, Inherit(scope));
                    }
                    Add(scope, at, keyword, new JsonObject { ["minContains"] = 1 }, "must contain at least 1 valid item(s)");
                    break;
                case "propertyNames":
                    foreach (var k in failing.OrderBy(k => InstanceOrder(scope.Data, k.Result)))
                    {
                        var name = Pointer(k.Result.InstanceLocation.ToString()).LastOrDefault() ?? "";
                        Walk(k.Result, k.Segments, new Scope(scope.InstancePath, JsonValue.Create(name), name));
                        Add(scope with { PropertyName = null }, at, keyword, new JsonObject { ["propertyName"] = name }, "property name must be valid");
                    }
                    break;
                case "dependencies" when scope.Data is JsonObject obj && value is JsonObject deps:
                    foreach (var (property, dep) in deps.Where(d => obj.ContainsKey(d.Key)))
                    {
                        if (dep is JsonArray list)
                        {
                            var names = list.Select(n => JsonTools.Text(n) ?? "").ToList();
                            foreach (var missing in names.Where(n => !obj.ContainsKey(n)))
                            {
                                Add(scope, at, keyword, new JsonObject { ["property"] = property, ["missingProperty"] = missing, ["depsCount"] = names.Count, ["deps"] = string.Join(", ", names) },
                                    $"must have propert{(names.Count == 1 ? "y" : "ies")} {string.Join(", ", names)} when property {property} is present");
                            }
                        }
                        else
                        {
                            failing.Where(k => k.Rest == property).ToList().ForEach(k => Walk(k.Result, k.Segments, Inherit(scope)));
                        }
                    }
                    break;
                default:
                    if (own.ContainsKey(keyword) && s_limits.TryGetValue(keyword, out var limit))
                    {
                        var text = limit.Text.Length == 0
                            ? $"must be {limit.Comparison} {JsonTools.ToJsString(value)}"
                            : "must NOT have " + string.Format(System.Globalization.CultureInfo.InvariantCulture, limit.Text, JsonTools.ToJsString(value));
                        var parameters = limit.Text.Length == 0 ? new JsonObject { ["comparison"] = limit.Comparison, ["limit"] = value?.DeepClone() } : new JsonObject { ["limit"] = value?.DeepClone() };
                        Add(scope, at, keyword, parameters, text);
                    }
                    break;
            }
        }

        // Inside propertyNames every error is about the name, not a value at a path.
        private static Scope? Inherit(Scope scope) => scope.PropertyName is null ? null : scope;

        private void Add(Scope scope, string schemaPath, string keyword, JsonObject parameters, string message) =>
            errors.Add(Error(scope.InstancePath, schemaPath, keyword, parameters, message, scope.PropertyName));
    }

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
