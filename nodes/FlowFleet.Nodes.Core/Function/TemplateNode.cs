using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>Node-RED's template: renders Mustache (or plain text) from the message into a property, as text, JSON or YAML.</summary>
[NodeType("template", Category = "function", Color = "#e2d96e", Icon = "description",
    Help = """
    Renders the template with the message as context: `{{payload}}`, `{{topic}}`, `{{payload.name}}`; `{{flow.x}}`,
    `{{global.x}}` and `{{env.NAME}}` read context and environment. `{{{raw}}}` skips HTML escaping; sections
    `{{#list}}...{{/list}}` repeat. Output as plain text, parsed JSON or parsed YAML into `field` (default `msg.payload`).
    """)]
public sealed class TemplateNode : FlowNode<TemplateConfig>
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var template = string.IsNullOrEmpty(Config.Template) && msg.Data["template"] is { } t ? JsonTools.ToJsString(t) : Config.Template ?? "";
        var text = Config.Syntax == "plain" ? template : Mustache.Render(template, msg.Data, Fallback, jsonEscape: Config.Output == "json");
        JsonNode? value = Config.Output switch
        {
            "json" => ParseJson(text),
            "yaml" => ParseYaml(text),
            _ => JsonValue.Create(text),
        };
        var field = string.IsNullOrEmpty(Config.Field) ? "payload" : Config.Field;
        switch (Config.FieldType ?? "msg")
        {
            case "flow":
                Node.FlowContext.Set(field, value);
                break;
            case "global":
                Node.GlobalContext.Set(field, value);
                break;
            default:
                // An empty YAML document is undefined: Node-RED's setMessageProperty deletes the property.
                if (JsSpecial.IsUndefined(value))
                {
                    PropertyPath.Parse(field).Delete(msg.Data);
                }
                else
                {
                    PropertyPath.Parse(field).Set(msg.Data, value);
                }
                break;
        }
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }

    private JsonNode? Fallback(string name)
    {
        if (name.StartsWith("env.", StringComparison.Ordinal))
        {
            return Node.GetEnv(name[4..]) is { } v ? JsonValue.Create(v) : null;
        }
        foreach (var (prefix, scope) in new[] { ("flow", Node.FlowContext), ("global", Node.GlobalContext) })
        {
            if (name.StartsWith(prefix + ".", StringComparison.Ordinal))
            {
                return scope.Get(name[(prefix.Length + 1)..]);
            }
            // {{flow[store].key}}
            if (name.StartsWith(prefix + "[", StringComparison.Ordinal) && name.IndexOf("].", StringComparison.Ordinal) is var close and > 0)
            {
                return scope.Get(name[(close + 2)..], name[(prefix.Length + 1)..close]);
            }
        }
        return null;
    }

    private static JsonNode? ParseJson(string text)
    {
        try
        {
            return JsonTools.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException("Template result is not valid JSON: " + ex.Message, ex);
        }
    }

    // Node-RED's template reports js-yaml's own message (done(err.message)).
    private static JsonNode? ParseYaml(string text) => Parser.JsYaml.Load(text);
}

public sealed class TemplateConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"payload\"", UiHint = PropertyUi.Typed, TypeProperty = "fieldType", Types = ["msg", "flow", "global"], Label = "Property")]
    public string? Field { get; set; } = "payload";

    [NodeProperty(Default = "\"msg\"", UiHint = PropertyUi.Hidden)]
    public string? FieldType { get; set; } = "msg";

    [NodeProperty(Default = "\"handlebars\"", UiHint = PropertyUi.Select, Options = ["handlebars:Mustache", "html:HTML", "json:JSON", "yaml:YAML", "text:Plain text"], Label = "Format")]
    public string? Format { get; set; } = "handlebars";

    [NodeProperty(Default = "\"mustache\"", UiHint = PropertyUi.Select, Options = ["mustache:Mustache template", "plain:Plain text"], Label = "Syntax")]
    public string? Syntax { get; set; } = "mustache";

    [NodeProperty(Default = "\"This is the payload: {{payload}} !\"", UiHint = PropertyUi.Code, Language = "mustache", Label = "Template")]
    public string? Template { get; set; }

    [NodeProperty(Default = "\"str\"", UiHint = PropertyUi.Select, Options = ["str:Plain text", "json:Parsed JSON", "yaml:Parsed YAML"], Label = "Output as")]
    public string? Output { get; set; } = "str";
}
