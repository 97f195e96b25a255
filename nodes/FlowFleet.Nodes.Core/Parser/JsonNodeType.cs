using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>Node-RED's json: converts a property between a JSON string and an object.</summary>
[NodeType("json", Category = "parser", Color = "#debd5c", Icon = "data_object",
    Help = "Converts `msg.payload` (or `property`) between a JSON string and an object. `action`: empty = convert either way, `str` = always to string, `obj` = always to object. `pretty` indents the string. With `msg.schema` (a JSON Schema, checked as Node-RED's ajv checks it: draft-07 keywords, draft-06/-07 `$schema`) the object is validated after parsing or before stringifying: when valid `msg.schema` is removed, else the node reports \"JSON Schema error: …\" with ajv's errors in `msg.schemaError`.")]
public sealed class JsonNodeType : FlowNode<JsonParserConfig>
{
    private static readonly JsonSerializerOptions s_pretty = new() { WriteIndented = true, IndentSize = 4 };

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        // Node-RED compiles msg.schema before reading the property, so a bad schema fails even without a payload.
        JsonSchemaCheck? schema = null;
        if (msg.Data.TryGetPropertyValue("schema", out var schemaNode) && JsonTools.IsTruthy(schemaNode))
        {
            schema = JsonSchemaCheck.Compile(schemaNode!) ?? throw new InvalidOperationException("JSON Schema error: failed to compile schema");
        }
        var path = PropertyPath.Parse(string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property);
        if (!path.TryGet(msg.Data, out var value) || JsSpecial.IsUndefined(value))
        {
            Node.Send(msg);
            return ValueTask.CompletedTask;
        }
        var action = Config.Action ?? "";
        var isBuffer = JsonTools.IsBuffer(value);
        if (isBuffer || JsonTools.IsString(value, out _))
        {
            // Node-RED parses a Buffer as its UTF-8 text.
            var text = isBuffer ? System.Text.Encoding.UTF8.GetString(JsonTools.BufferBytes(value!)) : JsonTools.Text(value)!;
            if (action != "str")
            {
                var parsed = Parse(text);
                path.Set(msg.Data, parsed);
                Validate(msg, schema, parsed);
            }
            else if (schema is not null)
            {
                // action "str" leaves the text as it is; with a schema, Node-RED still checks what it parses to
                Validate(msg, schema, Parse(text));
            }
        }
        else if (action != "obj")
        {
            // Numbers, booleans, null (typeof "object" in JavaScript) and objects become JSON text, once valid.
            Validate(msg, schema, value);
            path.Set(msg.Data, JsonValue.Create(value is null ? "null" : value.ToJsonString(Config.Pretty ? s_pretty : null)));
        }
        else
        {
            Validate(msg, schema, value);
        }
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }

    private static JsonNode? Parse(string text)
    {
        try
        {
            // Strict, as JSON.parse: no comments, no trailing commas. Valid text (nearly every message) is read once.
            return JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            // Only for text that failed: V8's wording of the error (flows and catch nodes see this text).
            throw new InvalidOperationException(V8JsonSyntax.Check(text) ?? "Unexpected token in JSON: " + ex.Message, ex);
        }
    }

    /// <summary>Node-RED's check against msg.schema: deleted when valid; else msg.schemaError holds ajv's errors and the node errors.</summary>
    private static void Validate(FlowMessage msg, JsonSchemaCheck? schema, JsonNode? value)
    {
        if (schema is null)
        {
            return;
        }
        if (schema.Validate(value) is not { } errors)
        {
            msg.Data.Remove("schema");
            return;
        }
        msg.Data["schemaError"] = errors;
        throw new InvalidOperationException("JSON Schema error: " + JsonSchemaCheck.ErrorsText(errors));
    }
}

public sealed class JsonParserConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Select, Options = [":Convert between JSON String & Object", "str:Always convert to JSON String", "obj:Always convert to JavaScript Object"], Label = "Action")]
    public string? Action { get; set; }

    [NodeProperty(Default = "\"payload\"", Label = "Property")]
    public string? Property { get; set; } = "payload";

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Format JSON string")]
    public bool Pretty { get; set; }
}
