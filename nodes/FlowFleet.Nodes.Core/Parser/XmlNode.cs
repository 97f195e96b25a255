using System.Text.Json.Nodes;
using System.Xml;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>Node-RED's xml: converts a property between an XML string and an object, with xml2js's conventions.</summary>
[NodeType("xml", Category = "parser", Color = "#debd5c", Icon = "code",
    Help = """
    An XML string becomes an object as xml2js makes it: `{root: {child: [...], $: {attributes}, _: "text"}}` (children in
    arrays, attributes under `attr` (default `$`), text under `chr` (default `_`)). An object becomes XML text. `msg.options`
    passes xml2js options: `explicitArray`, `explicitRoot`, `mergeAttrs`, `ignoreAttrs`, `trim`, `normalize`,
    `normalizeTags`, `explicitCharkey`, `emptyTag` when parsing; `headless`, `rootName`, `renderOpts.pretty` when building.
    """)]
public sealed class XmlNode : FlowNode<XmlConfig>
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var path = PropertyPath.Parse(string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property);
        if (!path.TryGet(msg.Data, out var value))
        {
            Node.Send(msg);
            return ValueTask.CompletedTask;
        }
        var options = msg.Data["options"] as JsonObject;
        if (value is JsonObject or JsonArray || (value is null))
        {
            // Node-RED sets async on the message's own options object (visible downstream).
            options?["async"] = false;
            path.Set(msg.Data, JsonValue.Create(XmlBuilder.Build(value, options ?? new JsonObject { ["renderOpts"] = new JsonObject { ["pretty"] = false } })));
            Node.Send(msg);
        }
        else if (JsonTools.IsString(value, out var text))
        {
            // As Node-RED, async, attrkey and charkey are written into msg.options itself when the message has one.
            var parseOptions = options ?? [];
            parseOptions["async"] = true;
            parseOptions["attrkey"] = string.IsNullOrEmpty(Config.Attr) ? parseOptions["attrkey"]?.ToString() ?? "$" : Config.Attr;
            parseOptions["charkey"] = string.IsNullOrEmpty(Config.Chr) ? parseOptions["charkey"]?.ToString() ?? "_" : Config.Chr;
            JsonNode? result;
            try
            {
                result = XmlToJson.Parse(text, parseOptions);
            }
            catch (XmlException ex)
            {
                throw new JsErrorException(SaxMessage(text, ex));
            }
            path.Set(msg.Data, result);
            Node.Send(msg);
        }
        else
        {
            Node.Warn("This node only handles xml strings or js objects.");
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Node-RED's xml2js/sax wording for the errors a truncated document gives (flows match on it); other errors keep
    /// the .NET parser's text. sax counts lines from 0 and ends the message with the character it stopped at.
    /// </summary>
    private static string SaxMessage(string text, XmlException ex)
    {
        var reason = ex.Message.Contains("not closed", StringComparison.Ordinal) ? "Unclosed root tag"
            : ex.Message.StartsWith("Unexpected end of file", StringComparison.Ordinal) ? "Unexpected end"
            : null;
        if (reason is null)
        {
            return ex.Message;
        }
        var line = text.Count(c => c == '\n');
        var column = text.Length - (text.LastIndexOf('\n') + 1);
        return FormattableString.Invariant($"{reason}\nLine: {line}\nColumn: {column}\nChar: ");
    }
}

public sealed class XmlConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"payload\"", Required = true, Label = "Property")]
    public string? Property { get; set; } = "payload";

    [NodeProperty(Default = "\"\"", Label = "Represent attributes as property")]
    public string? Attr { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Represent text content as property")]
    public string? Chr { get; set; }

}
