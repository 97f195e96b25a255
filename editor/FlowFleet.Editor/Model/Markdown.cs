using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace FlowFleet.Editor.Model;

/// <summary>
/// The small Markdown subset node help uses (Node-RED renders node help as Markdown): paragraphs, headings, bullet lists,
/// <c>`code`</c>, <c>**bold**</c>, <c>*emphasis*</c>. Text is HTML-escaped first, so help can never inject markup.
/// </summary>
public static partial class Markdown
{
    public static string ToHtml(string? text)
    {
        var html = new StringBuilder();
        var paragraph = new List<string>();
        var inList = false;
        void Flush()
        {
            if (paragraph.Count > 0)
            {
                html.Append("<p>").Append(Inline(string.Join(' ', paragraph))).Append("</p>");
                paragraph.Clear();
            }
        }
        foreach (var raw in (text ?? "").Replace("\r", "", StringComparison.Ordinal).Split('\n'))
        {
            var line = raw.Trim();
            var bullet = line.StartsWith("- ", StringComparison.Ordinal) || line.StartsWith("* ", StringComparison.Ordinal);
            if (!bullet && inList)
            {
                html.Append("</ul>");
                inList = false;
            }
            if (line.Length == 0)
            {
                Flush();
            }
            else if (bullet)
            {
                Flush();
                if (!inList)
                {
                    html.Append("<ul>");
                    inList = true;
                }
                html.Append("<li>").Append(Inline(line[2..])).Append("</li>");
            }
            else if (line.StartsWith('#'))
            {
                Flush();
                var level = Math.Min(6, line.TakeWhile(c => c == '#').Count() + 2);
                html.Append($"<h{level}>").Append(Inline(line.TrimStart('#').Trim())).Append($"</h{level}>");
            }
            else
            {
                paragraph.Add(line);
            }
        }
        Flush();
        if (inList)
        {
            html.Append("</ul>");
        }
        return html.ToString();
    }

    private static string Inline(string text)
    {
        var escaped = WebUtility.HtmlEncode(text);
        escaped = CodeSpan().Replace(escaped, "<code>$1</code>");
        escaped = Bold().Replace(escaped, "<strong>$1</strong>");
        return Emphasis().Replace(escaped, "<em>$1</em>");
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"\*\*([^*]+)\*\*")]
    private static partial Regex Bold();

    [GeneratedRegex(@"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])")]
    private static partial Regex Emphasis();
}
