using System.Text;
using System.Text.Json.Nodes;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>Node-RED's html: picks elements out of an HTML document with a CSS selector (AngleSharp in place of cheerio).</summary>
[NodeType("html", Category = "parser", Color = "#debd5c", Icon = "html",
    Help = """
    Selects the elements matching the CSS selector `tag` (or `msg.select` when `tag` is empty) in the HTML of `property` and
    returns, per element, its inner HTML (`ret: html`), text (`text`), attributes (`attr`) or attributes plus inner HTML under
    `chr` (`compl`): as one array in `outproperty` (`as: single`), or one message per element with `msg.parts` (`as: multi`).
    """)]
public sealed class HtmlNode : FlowNode<HtmlConfig>
{
    private static readonly HtmlParser s_parser = new();

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var property = string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property;
        var outPath = PropertyPath.Parse(string.IsNullOrEmpty(Config.Outproperty) ? property : Config.Outproperty);
        if (!PropertyPath.Parse(property).TryGet(msg.Data, out var value))
        {
            Node.Send(msg);
            return ValueTask.CompletedTask;
        }
        if (value is null)
        {
            throw new InvalidOperationException("html: the input is null, not an HTML string");
        }
        var html = JsonTools.IsBuffer(value) ? Encoding.UTF8.GetString(JsonTools.BufferBytes(value)) : JsonTools.ToJsString(value);
        var tag = Config.Tag;
        if (string.IsNullOrEmpty(tag) && msg.Data.ContainsKey("select"))
        {
            tag = JsonTools.ToJsString(msg.Data["select"]);
        }
        var document = s_parser.ParseDocument(html);
        IList<IElement> matches;
        try
        {
            matches = string.IsNullOrWhiteSpace(tag) ? [] : document.QuerySelectorAll(tag).ToList();
        }
        catch (DomException ex)
        {
            throw new InvalidOperationException($"html: '{tag}' is not a valid selector ({ex.Message})", ex);
        }
        var ret = Config.Ret ?? "html";
        var results = new JsonArray();
        for (var i = 0; i < matches.Count; i++)
        {
            var item = Extract(matches[i], ret);
            if (Config.As == "multi")
            {
                if (item is null || (JsonTools.IsString(item, out var s) && s.Length == 0))
                {
                    continue;
                }
                var m = msg.Clone();
                outPath.Set(m.Data, item);
                m.Data["parts"] = new JsonObject { ["id"] = msg.MsgId, ["index"] = i, ["count"] = matches.Count, ["type"] = "string", ["ch"] = "" };
                Node.Send(m);
            }
            else if (item is not null)
            {
                results.Add(item);
            }
        }
        if (Config.As != "multi")
        {
            outPath.Set(msg.Data, results);
            Node.Send(msg);
        }
        return ValueTask.CompletedTask;
    }

    private JsonNode? Extract(IElement e, string ret)
    {
        switch (ret)
        {
            case "text":
                return JsonValue.Create(e.TextContent);
            case "attr":
                return Attributes(e, new JsonObject());
            case "compl":
                return Attributes(e, new JsonObject { [string.IsNullOrEmpty(Config.Chr) ? "_" : Config.Chr] = e.InnerHtml.Trim() });
            case "html":
                return JsonValue.Create(AsXml(e.InnerHtml.Trim()));
            default:
                return null;
        }
    }

    private static JsonObject Attributes(IElement e, JsonObject into)
    {
        foreach (var a in e.Attributes)
        {
            into[a.Name] = a.Value;
        }
        return into;
    }

    /// <summary>Re-serializes an HTML fragment as XML (cheerio's <c>load(html, null, false).xml()</c>): empty elements self-close.</summary>
    private static string AsXml(string html)
    {
        var context = s_parser.ParseDocument("").Body!;
        var sb = new StringBuilder();
        foreach (var node in s_parser.ParseFragment(html, context))
        {
            Write(sb, node);
        }
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, INode node)
    {
        switch (node)
        {
            case IElement e:
                sb.Append('<').Append(e.LocalName);
                foreach (var a in e.Attributes)
                {
                    sb.Append(' ').Append(a.Name).Append("=\"").Append(Escape(a.Value)).Append('"');
                }
                var children = e is AngleSharp.Html.Dom.IHtmlTemplateElement t ? t.Content.ChildNodes : e.ChildNodes;
                if (children.Length == 0)
                {
                    sb.Append("/>");
                    break;
                }
                sb.Append('>');
                foreach (var c in children)
                {
                    Write(sb, c);
                }
                sb.Append("</").Append(e.LocalName).Append('>');
                break;
            case IText text:
                sb.Append(Escape(text.Data));
                break;
            case IComment comment:
                sb.Append("<!--").Append(comment.Data).Append("-->");
                break;
        }
    }

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal).Replace("'", "&apos;", StringComparison.Ordinal);
}

public sealed class HtmlConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"payload\"", Label = "Property")]
    public string? Property { get; set; } = "payload";

    [NodeProperty(Default = "\"payload\"", Label = "Output property")]
    public string? Outproperty { get; set; } = "payload";

    [NodeProperty(Default = "\"\"", Label = "Selector")]
    public string? Tag { get; set; }

    [NodeProperty(Default = "\"html\"", UiHint = PropertyUi.Select, Options = ["html:the html content of the elements", "text:only the text content of the elements", "attr:an object of any attributes of the elements", "compl:an object of any attributes and html contents of the elements"], Label = "Output")]
    public string? Ret { get; set; } = "html";

    [NodeProperty(Default = "\"single\"", UiHint = PropertyUi.Select, Options = ["single:a single message containing an array", "multi:multiple messages, one for each element"], Label = "as")]
    public string? As { get; set; } = "single";

    [NodeProperty(Default = "\"_\"", Label = "Content property (compl)")]
    public string? Chr { get; set; } = "_";
}
