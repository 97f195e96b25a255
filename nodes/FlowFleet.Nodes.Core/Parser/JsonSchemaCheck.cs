using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;
using Json.Schema;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>
/// The json node's <c>msg.schema</c> check, as Node-RED 4 does it with ajv 8 (<c>new Ajv({allErrors: true})</c> plus the
/// draft-06 meta-schema): draft-07 keywords whatever <c>$schema</c> says, only draft-06/-07 <c>$schema</c> ids (ajv's default
/// class knows no 2019-09/2020-12 meta-schema: those fail to compile in Node-RED), and ajv's strict mode, which refuses
/// unknown keywords and every <c>format</c> (Node-RED adds no formats). JsonSchema.Net decides validity; failures are
/// reported in ajv's error shape by <see cref="AjvErrors"/>.
/// </summary>
internal sealed class JsonSchemaCheck
{
    private const int CacheLimit = 256;

    // Compiled schemas by their JSON text: a flow usually sends the same schema with every message.
    private static readonly ConcurrentDictionary<string, JsonSchemaCheck?> s_cache = new(StringComparer.Ordinal);

    // ajv evaluates the keywords beside a $ref (draft-07 says to ignore them; ajv 8 does not).
    private static readonly Dialect s_dialect = Dialect.Draft07.With([], null, false, true);
    private static readonly EvaluationOptions s_flag = new() { OutputFormat = OutputFormat.Flag };
    private static readonly EvaluationOptions s_detail = new() { OutputFormat = OutputFormat.Hierarchical };

    // ajv 8's keyword list (Ajv.RULES.keywords of the default class): anything else is "strict mode: unknown keyword".
    private static readonly HashSet<string> s_known = new(StringComparer.Ordinal)
    {
        "$async", "$schema", "$id", "$defs", "$vocabulary", "$comment", "definitions", "$ref", "maximum", "minimum",
        "exclusiveMaximum", "exclusiveMinimum", "multipleOf", "maxLength", "minLength", "pattern", "maxProperties",
        "minProperties", "required", "maxItems", "minItems", "uniqueItems", "type", "nullable", "const", "enum", "not", "anyOf",
        "oneOf", "allOf", "if", "then", "else", "propertyNames", "additionalProperties", "dependencies", "properties",
        "patternProperties", "additionalItems", "items", "contains", "title", "description", "default", "deprecated",
        "readOnly", "writeOnly", "examples", "contentMediaType", "contentEncoding", "contentSchema",
    };

    private static readonly string[] s_single = ["additionalProperties", "additionalItems", "contains", "propertyNames", "not", "if", "then", "else"];
    private static readonly string[] s_lists = ["allOf", "anyOf", "oneOf"];
    private static readonly string[] s_maps = ["properties", "patternProperties", "dependencies"];

    private readonly JsonSchema? _schema;
    private readonly JsonNode _root;

    private JsonSchemaCheck(JsonSchema? schema, JsonNode root)
    {
        _schema = schema;
        _root = root;
    }

    /// <summary>The compiled schema, or null where ajv fails to compile it (Node-RED: "failed to compile schema").</summary>
    public static JsonSchemaCheck? Compile(JsonNode schema)
    {
        var key = schema.ToJsonString();
        if (s_cache.TryGetValue(key, out var hit))
        {
            return hit;
        }
        var compiled = Build(schema);
        if (s_cache.Count >= CacheLimit)
        {
            s_cache.Clear();
        }
        s_cache[key] = compiled;
        return compiled;
    }

    /// <summary>Null when the value is valid; else ajv's <c>validate.errors</c>.</summary>
    public JsonArray? Validate(JsonNode? value)
    {
        if (_schema is null)
        {
            return _root.GetValueKind() == JsonValueKind.False ? AjvErrors.FalseSchema() : null;
        }
        var element = ToElement(value);
        if (_schema.Evaluate(element, s_flag).IsValid)
        {
            return null;
        }
        return AjvErrors.From(_schema.Evaluate(element, s_detail), _root, value);
    }

    /// <summary>ajv's <c>errorsText</c>: "data/path message, …".</summary>
    public static string ErrorsText(JsonArray errors) =>
        string.Join(", ", errors.Select(e => "data" + JsonTools.Text(e?["instancePath"]) + " " + JsonTools.Text(e?["message"])));

    private static JsonSchemaCheck? Build(JsonNode schema)
    {
        if (schema is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return new JsonSchemaCheck(null, schema);
        }
        if (schema is not JsonObject obj)
        {
            return null; // "schema must be object or boolean" (false never gets here: Node-RED skips a falsy msg.schema)
        }
        var meta = MetaSchemas.Draft7;
        if (obj.TryGetPropertyValue("$schema", out var declared))
        {
            var id = (JsonTools.Text(declared) ?? "").TrimEnd('#');
            if (id == "http://json-schema.org/draft-06/schema")
            {
                meta = MetaSchemas.Draft6;
            }
            else if (id != "http://json-schema.org/draft-07/schema")
            {
                return null; // ajv: no schema with key or ref "<id>"
            }
        }
        try
        {
            if (!meta.Evaluate(ToElement(obj), s_flag).IsValid || !Strict(obj, obj, new HashSet<JsonNode>(ReferenceEqualityComparer.Instance)))
            {
                return null;
            }
            // $schema chose the meta-schema only: ajv runs the same keywords for both drafts.
            var copy = (JsonObject)obj.DeepClone();
            copy.Remove("$schema");
            Nullable(copy);
            var built = JsonSchema.Build(ToElement(copy), new BuildOptions { Dialect = s_dialect, SchemaRegistry = new SchemaRegistry() });
            return new JsonSchemaCheck(built, obj);
        }
        catch (Exception ex) when (ex is JsonSchemaException or RefResolutionException or ArgumentException or InvalidOperationException or JsonException)
        {
            return null; // an unresolvable $ref, or a schema the library refuses: ajv refuses it too
        }
    }

    /// <summary>ajv's compile-time checks of the subschemas it reaches (strict mode throws; Node-RED reports a compile error).</summary>
    private static bool Strict(JsonNode? node, JsonObject root, HashSet<JsonNode> seen)
    {
        if (node is not JsonObject s || !seen.Add(s))
        {
            return true;
        }
        foreach (var (key, _) in s)
        {
            if (!s_known.Contains(key))
            {
                return false; // unknown keyword; "format" is here too: no formats are added, so each is unknown
            }
        }
        if ((s.ContainsKey("nullable") && !s.ContainsKey("type"))
            || (s.ContainsKey("if") && !s.ContainsKey("then") && !s.ContainsKey("else"))
            || ((s.ContainsKey("then") || s.ContainsKey("else")) && !s.ContainsKey("if"))
            || (s.ContainsKey("additionalItems") && s["items"] is not JsonArray)
            || !ValidRegex(JsonTools.Text(s["pattern"])))
        {
            return false;
        }
        if (s["patternProperties"] is JsonObject patterns && patterns.Any(p => !ValidRegex(p.Key)))
        {
            return false;
        }
        if (JsonTools.Text(s["$ref"]) is { } reference)
        {
            if (!reference.StartsWith('#'))
            {
                return false; // ajv resolves no remote references (none are added)
            }
            if (AjvErrors.Resolve(root, reference) is not { } target || !Strict(target, root, seen))
            {
                return false;
            }
        }
        foreach (var key in s_single)
        {
            if (!Strict(s[key], root, seen))
            {
                return false;
            }
        }
        var items = s["items"];
        if (items is JsonArray tuple ? tuple.Any(i => !Strict(i, root, seen)) : !Strict(items, root, seen))
        {
            return false;
        }
        return s_lists.All(k => s[k] is not JsonArray list || list.All(i => Strict(i, root, seen)))
            && s_maps.All(k => s[k] is not JsonObject map || map.All(p => Strict(p.Value, root, seen)));
    }

    /// <summary>ajv's <c>nullable: true</c> (OpenAPI) lets null through beside the declared type; JsonSchema.Net knows no such keyword.</summary>
    private static void Nullable(JsonNode? node)
    {
        if (node is JsonObject o)
        {
            if (o["nullable"] is JsonValue n && n.GetValueKind() == JsonValueKind.True && o["type"] is { } type)
            {
                o["type"] = type is JsonArray a ? new JsonArray([.. a.Select(t => t?.DeepClone()), "null"]) : new JsonArray(type.DeepClone(), "null");
            }
            foreach (var (_, child) in o.ToList())
            {
                Nullable(child);
            }
        }
        else if (node is JsonArray list)
        {
            foreach (var child in list)
            {
                Nullable(child);
            }
        }
    }

    private static bool ValidRegex(string? pattern)
    {
        if (pattern is null)
        {
            return true;
        }
        try
        {
            _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static JsonElement ToElement(JsonNode? node)
    {
        using var doc = JsonDocument.Parse(node is null ? "null" : node.ToJsonString());
        return doc.RootElement.Clone();
    }
}
