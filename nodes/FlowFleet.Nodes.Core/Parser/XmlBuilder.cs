using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>Writes an object as XML the way xml2js's Builder (Node-RED's xml node) does.</summary>
internal static class XmlBuilder
{
    private sealed class Element(string name)
    {
        public string Name { get; } = name;

        public List<(string Name, string Value)> Attributes { get; } = [];

        /// <summary>Child elements and text, in order (a string is text).</summary>
        public List<object> Children { get; } = [];
    }

    public static string Build(JsonNode? value, JsonObject options)
    {
        var attrKey = options["attrkey"]?.ToString() ?? "$";
        var charKey = options["charkey"]?.ToString() ?? "_";
        var rootName = options["rootName"]?.ToString() ?? "root";
        var headless = options["headless"] is JsonValue h && h.TryGetValue<bool>(out var hb) && hb;
        var pretty = !(options["renderOpts"]?["pretty"] is JsonValue p && p.TryGetValue<bool>(out var pb) && !pb);
        var indentText = options["renderOpts"]?["indent"]?.ToString() ?? "  ";
        var newline = options["renderOpts"]?["newline"]?.ToString() ?? "\n";
        if (value is JsonObject single && single.Count == 1 && rootName == "root")
        {
            rootName = single.First().Key;
            value = single.First().Value;
        }
        var root = new Element(rootName);
        Render(root, value);
        var sb = new StringBuilder();
        if (!headless)
        {
            sb.Append("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>");
            if (pretty)
            {
                sb.Append(newline);
            }
        }
        Write(sb, root, 0);
        return sb.ToString();

        void Render(Element element, JsonNode? obj)
        {
            switch (obj)
            {
                case JsonArray arr:
                    foreach (var child in arr)
                    {
                        foreach (var (key, v) in child as JsonObject ?? [])
                        {
                            var e = new Element(key);
                            element.Children.Add(e);
                            Render(e, v);
                        }
                    }
                    break;
                case JsonObject o when !JsonTools.IsBuffer(o):
                    foreach (var (key, child) in o)
                    {
                        if (key == attrKey)
                        {
                            foreach (var (an, av) in child as JsonObject ?? [])
                            {
                                element.Attributes.Add((an, Text(av)));
                            }
                        }
                        else if (key == charKey)
                        {
                            element.Children.Add(Text(child));
                        }
                        else if (child is JsonArray items)
                        {
                            foreach (var entry in items)
                            {
                                var e = new Element(key);
                                element.Children.Add(e);
                                Render(e, entry);
                            }
                        }
                        else if (child is JsonObject)
                        {
                            var e = new Element(key);
                            element.Children.Add(e);
                            Render(e, child);
                        }
                        else
                        {
                            var e = new Element(key);
                            element.Children.Add(e);
                            var t = child is null ? "" : Text(child);
                            if (t.Length > 0)
                            {
                                e.Children.Add(t);
                            }
                        }
                    }
                    break;
                case null:
                    break;
                default:
                    var s = Text(obj);
                    if (s.Length > 0)
                    {
                        element.Children.Add(s);
                    }
                    break;
            }
        }

        void Write(StringBuilder output, Element e, int level)
        {
            var pad = pretty ? string.Concat(Enumerable.Repeat(indentText, level)) : "";
            output.Append(pad).Append('<').Append(e.Name);
            foreach (var (n, v) in e.Attributes)
            {
                output.Append(' ').Append(n).Append("=\"").Append(EscapeAttribute(v)).Append('"');
            }
            if (e.Children.Count == 0)
            {
                output.Append("/>");
            }
            else if (e.Children.All(c => c is string))
            {
                output.Append('>').Append(EscapeText(string.Concat(e.Children.Cast<string>()))).Append("</").Append(e.Name).Append('>');
            }
            else
            {
                output.Append('>');
                foreach (var c in e.Children)
                {
                    if (pretty)
                    {
                        output.Append(newline);
                    }
                    if (c is Element child)
                    {
                        Write(output, child, level + 1);
                    }
                    else
                    {
                        output.Append(pretty ? string.Concat(Enumerable.Repeat(indentText, level + 1)) : "").Append(EscapeText((string)c));
                    }
                }
                if (pretty)
                {
                    output.Append(newline).Append(pad);
                }
                output.Append("</").Append(e.Name).Append('>');
            }
        }
    }

    private static string Text(JsonNode? v) => v is JsonObject or JsonArray ? v.ToJsonString() : JsonTools.ToJsString(v);

    private static string EscapeText(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\r", "&#xD;", StringComparison.Ordinal);

    private static string EscapeAttribute(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace("\"", "&quot;", StringComparison.Ordinal).Replace("\t", "&#x9;", StringComparison.Ordinal).Replace("\n", "&#xA;", StringComparison.Ordinal).Replace("\r", "&#xD;", StringComparison.Ordinal);
}
