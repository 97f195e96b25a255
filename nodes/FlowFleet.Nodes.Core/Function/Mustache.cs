using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>
/// A small Mustache renderer: variables (escaped <c>{{x}}</c>, raw <c>{{{x}}}</c> / <c>{{&amp;x}}</c>), sections,
/// inverted sections, <c>{{.}}</c>, comments. Names are looked up through the context stack; <paramref name="fallback"/>
/// resolves names nothing on the stack has (Node-RED's <c>flow.</c>, <c>global.</c>, <c>env.</c>).
/// </summary>
public static partial class Mustache
{
    public static string Render(string template, JsonNode? root, Func<string, JsonNode?>? fallback = null, bool jsonEscape = false)
    {
        ArgumentNullException.ThrowIfNull(template);
        // Mustache's standalone rule: a line holding only a section, inverted, closing or comment tag leaves no trace
        // (its indentation and line break go), so templates can put {{#list}} on a line of its own.
        template = StandaloneTag().Replace(template, "$1");
        var sb = new StringBuilder(template.Length);
        var stack = new List<JsonNode?> { root };
        RenderSpan(template, 0, template.Length, stack, fallback, sb, jsonEscape);
        return sb.ToString();
    }

    private static void RenderSpan(string t, int start, int end, List<JsonNode?> stack, Func<string, JsonNode?>? fallback, StringBuilder sb, bool json)
    {
        var i = start;
        while (i < end)
        {
            var open = t.IndexOf("{{", i, end - i, StringComparison.Ordinal);
            if (open < 0)
            {
                sb.Append(t, i, end - i);
                return;
            }
            sb.Append(t, i, open - i);
            var triple = open + 2 < end && t[open + 2] == '{';
            var close = t.IndexOf(triple ? "}}}" : "}}", open + 2, StringComparison.Ordinal);
            if (close < 0 || close > end)
            {
                sb.Append(t, open, end - open);
                return;
            }
            var tag = t.Substring(open + (triple ? 3 : 2), close - open - (triple ? 3 : 2)).Trim();
            var after = close + (triple ? 3 : 2);
            if (triple)
            {
                sb.Append(Text(Lookup(tag, stack, fallback)));
                i = after;
                continue;
            }
            switch (tag.Length > 0 ? tag[0] : ' ')
            {
                case '!':
                    i = after;
                    break;
                case '&':
                    sb.Append(Text(Lookup(tag[1..].Trim(), stack, fallback)));
                    i = after;
                    break;
                case '#':
                case '^':
                    {
                        var name = tag[1..].Trim();
                        var (innerEnd, resume) = FindClose(t, name, after, end);
                        var value = Lookup(name, stack, fallback);
                        if (tag[0] == '^')
                        {
                            if (!Truthy(value))
                            {
                                RenderSpan(t, after, innerEnd, stack, fallback, sb, json);
                            }
                        }
                        else if (value is JsonArray arr)
                        {
                            foreach (var item in arr)
                            {
                                stack.Add(item);
                                RenderSpan(t, after, innerEnd, stack, fallback, sb, json);
                                stack.RemoveAt(stack.Count - 1);
                            }
                        }
                        else if (Truthy(value))
                        {
                            stack.Add(value);
                            RenderSpan(t, after, innerEnd, stack, fallback, sb, json);
                            stack.RemoveAt(stack.Count - 1);
                        }
                        i = resume;
                        break;
                    }
                case '/':
                    i = after;
                    break;
                default:
                    sb.Append(Escape(Text(Lookup(tag, stack, fallback)), json));
                    i = after;
                    break;
            }
        }
    }

    private static (int InnerEnd, int Resume) FindClose(string t, string name, int from, int end)
    {
        var depth = 0;
        var i = from;
        while (i < end)
        {
            var open = t.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0 || open >= end)
            {
                break;
            }
            var close = t.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0)
            {
                break;
            }
            var tag = t.Substring(open + 2, close - open - 2).Trim();
            if ((tag.StartsWith('#') || tag.StartsWith('^')) && tag[1..].Trim() == name)
            {
                depth++;
            }
            else if (tag.StartsWith('/') && tag[1..].Trim() == name)
            {
                if (depth == 0)
                {
                    return (open, close + 2);
                }
                depth--;
            }
            i = close + 2;
        }
        throw new FormatException($"Unclosed section '{name}' in template");
    }

    private static JsonNode? Lookup(string name, List<JsonNode?> stack, Func<string, JsonNode?>? fallback)
    {
        if (name == ".")
        {
            return stack[^1];
        }
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        var head = dot < 0 ? name : name[..dot];
        for (var s = stack.Count - 1; s >= 0; s--)
        {
            if (stack[s] is JsonObject o && o.TryGetPropertyValue(head, out var v))
            {
                return dot < 0 ? v : Path(v, name[(dot + 1)..]);
            }
        }
        return fallback?.Invoke(name);
    }

    private static JsonNode? Path(JsonNode? node, string rest)
    {
        foreach (var part in rest.Split('.'))
        {
            node = node switch
            {
                JsonObject o => o[part],
                JsonArray a when int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i >= 0 && i < a.Count => a[i],
                JsonArray a when part == "length" => JsonValue.Create(a.Count),
                _ => null,
            };
        }
        return node;
    }

    private static bool Truthy(JsonNode? v) => v is JsonArray a ? a.Count > 0 : JsonTools.IsTruthy(v);

    /// <summary>Missing values render empty; objects and arrays as JSON.</summary>
    // mustache.js renders values with String(v): objects as "[object Object]", arrays joined with commas.
    private static string Text(JsonNode? v) => v switch
    {
        null => "",
        JsonObject => "[object Object]",
        JsonArray a => string.Join(",", a.Select(x => x is null ? "" : Text(x))),
        _ => JsonTools.Kind(v) == JsonValueKind.String ? v.GetValue<string>() : JsonTools.ToJsString(v),
    };

    /// <summary>mustache.js's HTML escaping; for JSON output Node-RED also escapes the result as a JSON string body.</summary>
    private static string Escape(string s, bool json)
    {
        var html = WebUtility.HtmlEncode(s).Replace("/", "&#x2F;", StringComparison.Ordinal).Replace("`", "&#x60;", StringComparison.Ordinal)
            .Replace("=", "&#x3D;", StringComparison.Ordinal);
        return json ? System.Text.Json.JsonSerializer.Serialize(html, s_relaxed)[1..^1] : html;
    }

    private static readonly System.Text.Json.JsonSerializerOptions s_relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [System.Text.RegularExpressions.GeneratedRegex(@"(?m)^[ \t]*(\{\{[#^/!][^{}]*\}\})[ \t]*(?:\r?\n|\z)")]
    private static partial System.Text.RegularExpressions.Regex StandaloneTag();
}
