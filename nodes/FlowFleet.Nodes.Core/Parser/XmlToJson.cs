using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>Parses XML into the object xml2js's parser (Node-RED's xml node) makes, for the options it supports.</summary>
internal static partial class XmlToJson
{
    private sealed class Frame(string name, JsonObject obj)
    {
        public string Name { get; } = name;

        public JsonObject Obj { get; } = obj;

        public System.Text.StringBuilder Text { get; } = new();

        public bool Cdata { get; set; }
    }

    public static JsonNode? Parse(string text, JsonObject options)
    {
        bool Opt(string name, bool fallback) => options[name] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : fallback;
        var attrKey = options["attrkey"]?.ToString() ?? "$";
        var charKey = options["charkey"]?.ToString() ?? "_";
        var explicitArray = Opt("explicitArray", true);
        var explicitRoot = Opt("explicitRoot", true);
        var explicitCharkey = Opt("explicitCharkey", false);
        var ignoreAttrs = Opt("ignoreAttrs", false);
        var mergeAttrs = Opt("mergeAttrs", false);
        var trim = Opt("trim", false);
        var normalize = Opt("normalize", false);
        var normalizeTags = Opt("normalizeTags", false);
        var emptyTag = options["emptyTag"];

        void AssignOrPush(JsonObject obj, string key, JsonNode? value)
        {
            if (!obj.TryGetPropertyValue(key, out var existing))
            {
                obj[key] = explicitArray ? new JsonArray(value) : value;
            }
            else if (existing is JsonArray arr)
            {
                arr.Add(value);
            }
            else
            {
                obj[key] = new JsonArray(existing?.DeepClone(), value);
            }
        }

        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, IgnoreComments = true, IgnoreProcessingInstructions = true, XmlResolver = null };
        using var reader = XmlReader.Create(new StringReader(text.Trim()), settings);
        var stack = new Stack<Frame>();
        JsonNode? result = null;
        var done = false;
        while (!done && reader.Read())
        {
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    {
                        var obj = new JsonObject { [charKey] = "" };
                        var name = normalizeTags ? reader.Name.ToLowerInvariant() : reader.Name;
                        if (!ignoreAttrs && reader.HasAttributes)
                        {
                            for (var i = 0; i < reader.AttributeCount; i++)
                            {
                                reader.MoveToAttribute(i);
                                if (mergeAttrs)
                                {
                                    AssignOrPush(obj, reader.Name, JsonValue.Create(reader.Value));
                                }
                                else
                                {
                                    var attrs = obj[attrKey] as JsonObject ?? (JsonObject)(obj[attrKey] = new JsonObject());
                                    attrs[reader.Name] = reader.Value;
                                }
                            }
                            reader.MoveToElement();
                        }
                        var frame = new Frame(name, obj);
                        if (reader.IsEmptyElement)
                        {
                            done = Close(frame);
                        }
                        else
                        {
                            stack.Push(frame);
                        }
                        break;
                    }
                case XmlNodeType.Text or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                    if (stack.Count > 0)
                    {
                        stack.Peek().Text.Append(reader.Value);
                    }
                    break;
                case XmlNodeType.CDATA:
                    if (stack.Count > 0)
                    {
                        stack.Peek().Text.Append(reader.Value);
                        stack.Peek().Cdata = true;
                    }
                    break;
                case XmlNodeType.EndElement:
                    done = Close(stack.Pop());
                    break;
            }
        }
        return result;

        bool Close(Frame frame)
        {
            var obj = frame.Obj;
            var textValue = frame.Text.ToString();
            JsonNode? node = obj;
            string emptyStr = "";
            if (string.IsNullOrWhiteSpace(textValue) && !frame.Cdata)
            {
                emptyStr = textValue;
                obj.Remove(charKey);
            }
            else
            {
                if (trim)
                {
                    textValue = textValue.Trim();
                }
                if (normalize)
                {
                    textValue = Spaces().Replace(textValue, " ").Trim();
                }
                obj[charKey] = textValue;
                if (obj.Count == 1 && !explicitCharkey)
                {
                    node = JsonValue.Create(textValue);
                }
            }
            if (node is JsonObject { Count: 0 })
            {
                node = emptyTag is not null && !(JsonTools.IsString(emptyTag, out var et) && et.Length == 0) ? emptyTag.DeepClone() : JsonValue.Create(emptyStr);
            }
            if (stack.Count > 0)
            {
                AssignOrPush(stack.Peek().Obj, frame.Name, node);
                return false;
            }
            result = explicitRoot ? new JsonObject { [frame.Name] = node } : node;
            return true;
        }
    }

    [GeneratedRegex(@"\s{2,}")]
    private static partial Regex Spaces();
}
