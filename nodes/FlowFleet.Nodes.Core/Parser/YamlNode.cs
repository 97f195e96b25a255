using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>Node-RED's yaml: converts a property between a YAML string and an object.</summary>
[NodeType("yaml", Category = "parser", Color = "#debd5c", Icon = "description",
    Help = "Converts `msg.payload` (or `property`) between a YAML string and an object: a string is parsed, an object or array is written as YAML. Anything else is dropped with a warning; a message without the property passes through.")]
public sealed class YamlNode : FlowNode<YamlConfig>
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var path = PropertyPath.Parse(string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property);
        if (!path.TryGet(msg.Data, out var value))
        {
            Node.Send(msg);
            return ValueTask.CompletedTask;
        }
        if (JsonTools.IsString(value, out var text))
        {
            // js-yaml's message (reason, line:column, source snippet) is the node's error, as in Node-RED.
            if (JsYaml.Load(text) is var parsed && JsSpecial.IsUndefined(parsed))
            {
                path.Delete(msg.Data);
            }
            else
            {
                path.Set(msg.Data, parsed);
            }
            Node.Send(msg);
        }
        else if (value is JsonObject or JsonArray or null)
        {
            if (JsonTools.IsBuffer(value))
            {
                Node.Warn("Ignored non-object payload");
                return ValueTask.CompletedTask;
            }
            string yaml;
            try
            {
                yaml = JsYaml.Dump(value);
            }
            catch (JsYamlException ex)
            {
                // Node-RED reports its own text for a value js-yaml cannot write (undefined, a function...).
                throw new InvalidOperationException("Failed to convert payload", ex);
            }
            path.Set(msg.Data, JsonValue.Create(yaml));
            Node.Send(msg);
        }
        else
        {
            Node.Warn("Ignored unsupported payload type");
        }
        return ValueTask.CompletedTask;
    }
}

public sealed class YamlConfig
{
    [NodeProperty(Default = "\"payload\"", Required = true, Label = "Property")]
    public string? Property { get; set; } = "payload";

    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }
}
