using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>
/// Writes JSON as YAML the way js-yaml's <c>dump</c> (Node-RED's yaml node) does: block style, two-space indents,
/// sequences indented under their key, plain scalars unless quoting is needed (single quotes; double quotes for
/// control characters), literal blocks for multi-line strings, <c>{}</c>/<c>[]</c> for empty collections.
/// </summary>
internal static partial class JsonToYaml
{
    public static string Dump(JsonNode? value)
    {
        var sb = new StringBuilder();
        Write(sb, value, 0, inSequence: false, afterKey: false);
        if (sb.Length == 0 || sb[^1] != '\n')
        {
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonNode? value, int indent, bool inSequence, bool afterKey)
    {
        switch (value)
        {
            case JsonObject o when o.Count > 0:
                {
                    var first = true;
                    foreach (var (key, v) in o)
                    {
                        if (!first || afterKey)
                        {
                            if (afterKey && first)
                            {
                                sb.Append('\n');
                            }
                            if (!(first && inSequence))
                            {
                                sb.Append(' ', indent);
                            }
                        }
                        first = false;
                        sb.Append(Scalar(key, indent, isKey: true)).Append(':');
                        WriteValue(sb, v, indent);
                    }
                    break;
                }
            case JsonArray a when a.Count > 0:
                {
                    var first = true;
                    foreach (var item in a)
                    {
                        if (afterKey && first)
                        {
                            sb.Append('\n');
                        }
                        if (!(first && inSequence))
                        {
                            sb.Append(' ', indent);
                        }
                        first = false;
                        sb.Append('-');
                        if (item is JsonObject { Count: > 0 } or JsonArray { Count: > 0 })
                        {
                            sb.Append(' ');
                            Write(sb, item, indent + 2, inSequence: true, afterKey: false);
                        }
                        else
                        {
                            sb.Append(' ').Append(Scalar(item, indent + 2)).Append('\n');
                        }
                    }
                    break;
                }
            default:
                if (afterKey)
                {
                    sb.Append(' ');
                }
                sb.Append(Scalar(value, indent)).Append('\n');
                break;
        }
    }

    private static void WriteValue(StringBuilder sb, JsonNode? v, int indent)
    {
        if (v is JsonObject { Count: > 0 })
        {
            Write(sb, v, indent + 2, inSequence: false, afterKey: true);
        }
        else if (v is JsonArray { Count: > 0 })
        {
            Write(sb, v, indent + 2, inSequence: false, afterKey: true);
        }
        else
        {
            sb.Append(' ').Append(Scalar(v, indent + 2)).Append('\n');
        }
    }

    private static string Scalar(JsonNode? v, int indent) => v switch
    {
        null => "null",
        JsonObject => "{}",
        JsonArray => "[]",
        _ => JsonTools.Kind(v) switch
        {
            JsonValueKind.String => Scalar(v.GetValue<string>(), indent, isKey: false),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => NumberText(JsonTools.ToNumber(v)),
        },
    };

    private static string NumberText(double d) => double.IsNaN(d) ? ".nan" : double.IsPositiveInfinity(d) ? ".inf" : double.IsNegativeInfinity(d) ? "-.inf" : JsonTools.FormatNumber(d);

    private static string Scalar(string s, int indent, bool isKey)
    {
        if (s.Any(c => c < 0x20 && c is not '\n' and not '\t' || c is '\u007f' or '\ufeff'))
        {
            return JsonSerializer.Serialize(s);
        }
        if (s.Contains('\n', StringComparison.Ordinal) && !isKey)
        {
            var chomp = s.EndsWith('\n') ? s.EndsWith("\n\n", StringComparison.Ordinal) ? "+" : "" : "-";
            var lines = (chomp == "-" ? s : s[..^1]).Split('\n');
            var pad = new string(' ', Math.Max(indent, 2));
            var indicator = lines[0].StartsWith(' ') ? "2" : "";
            return "|" + indicator + chomp + "\n" + string.Join("\n", lines.Select(l => l.Length == 0 ? "" : pad + l)).TrimEnd('\n');
        }
        return NeedsQuotes(s) ? "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'" : s;
    }

    private static bool NeedsQuotes(string s) =>
        s.Length == 0 || s != s.Trim() || Ambiguous().IsMatch(s) || "-?:,[]{}#&*!|>'\"%@`".Contains(s[0], StringComparison.Ordinal) && !(s[0] is '-' or '?' or ':' && s.Length > 1 && s[1] != ' ')
        || s.Contains(": ", StringComparison.Ordinal) || s.Contains(" #", StringComparison.Ordinal) || s.EndsWith(':') || s.Contains('\t', StringComparison.Ordinal)
        || double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    // YAML 1.1 and 1.2 words and numbers that a plain scalar would turn into something else than a string.
    [GeneratedRegex(@"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|[-+]?0x[0-9a-fA-F_]+|[-+]?0o?[0-7_]+|[-+]?0b[01_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|\d{4}-\d\d?-\d\d?.*)$")]
    private static partial Regex Ambiguous();
}
