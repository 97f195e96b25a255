using System.Text.Json.Nodes;
using Json.Schema;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>
/// JsonSchema.Net's hierarchical results as ajv 8 reports them with <c>allErrors</c> (Node-RED's <c>msg.schemaError</c>):
/// <c>instancePath</c>, <c>schemaPath</c>, <c>keyword</c>, <c>params</c> and ajv's English <c>message</c>, in the order
/// ajv's generated code emits them — the type first unless the schema has keywords of its one type (then in that type's
/// group), then <c>$ref</c>, <c>const</c>, <c>enum</c>, <c>not</c>, <c>anyOf</c>, <c>oneOf</c>, <c>allOf</c>, <c>if</c>, then the
/// number, string, array and object keywords; one error per missing required or additional property, as ajv does.
/// </summary>
internal static partial class AjvErrors
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
}
