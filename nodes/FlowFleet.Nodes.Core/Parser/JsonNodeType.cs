using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>Node-RED's json: converts a property between a JSON string and an object.</summary>
[NodeType("json", Category = "parser", Color = "#debd5c", Icon = "data_object",
    Help = "Converts `msg.payload` (or `property`) between a JSON string and an object. `action`: empty = convert either way, `str` = always to string, `obj` = always to object. `pretty` indents the string.")]
public sealed class JsonNodeType : FlowNode<JsonParserConfig>
{
    private static readonly JsonSerializerOptions s_pretty = new() { WriteIndented = true, IndentSize = 4 };

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var path = PropertyPath.Parse(string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property);
        if (!path.TryGet(msg.Data, out var value))
        {
            Node.Send(msg);
            return ValueTask.CompletedTask;
        }
        var action = Config.Action ?? "";
        if (JsonTools.IsBuffer(value) && action != "str")
        {
            // Node-RED parses a Buffer as its UTF-8 text.
            value = JsonValue.Create(System.Text.Encoding.UTF8.GetString(JsonTools.BufferBytes(value!)));
        }
        if (JsonTools.IsString(value, out var text) && action != "str")
        {
            JsonNode? parsed;
            try
            {
                // Strict, as JSON.parse: no comments, no trailing commas. Valid text (nearly every message) is read once.
                parsed = JsonNode.Parse(text);
            }
            catch (JsonException ex)
            {
                // Only for text that failed: V8's wording of the error (flows and catch nodes see this text).
                throw new InvalidOperationException(V8JsonSyntax.Check(text) ?? "Unexpected token in JSON: " + ex.Message, ex);
            }
            path.Set(msg.Data, parsed);
        }
        else if ((value is JsonObject or JsonArray || JsonTools.Kind(value) is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False) && action != "obj")
        {
            path.Set(msg.Data, JsonValue.Create(Config.Pretty ? value!.ToJsonString(s_pretty) : value!.ToJsonString()));
        }
        else if (action == "obj" && value is not JsonObject and not JsonArray)
        {
            throw new InvalidOperationException("Ignored non-object payload");
        }
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}

public sealed class JsonParserConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = "select", Options = [":Convert between JSON String & Object", "str:Always convert to JSON String", "obj:Always convert to JavaScript Object"], Label = "Action")]
    public string? Action { get; set; }

    [NodeProperty(Default = "\"payload\"", Label = "Property")]
    public string? Property { get; set; } = "payload";

    [NodeProperty(Default = "false", UiHint = "checkbox", Label = "Format JSON string")]
    public bool Pretty { get; set; }
}
