using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Messages;

/// <summary>
/// Node-RED's nested references in property expressions: <c>payload[msg.topic]</c>, <c>a[msg.b.c]["d"]</c>. Each
/// <c>[msg.…]</c> is looked up in the message and replaced by its value as a key or index before the path is used.
/// </summary>
public static class NestedPath
{
    public static bool HasReference(string path) => path.Contains("[msg.", StringComparison.Ordinal);

    /// <summary>The path with every <c>[msg.x]</c> resolved against <paramref name="msg"/>; unchanged without references.</summary>
    public static string Resolve(string path, JsonNode? msg)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!HasReference(path))
        {
            return path;
        }
        var sb = new StringBuilder(path.Length);
        var i = 0;
        while (i < path.Length)
        {
            var start = path.IndexOf("[msg.", i, StringComparison.Ordinal);
            if (start < 0)
            {
                sb.Append(path, i, path.Length - i);
                break;
            }
            sb.Append(path, i, start - i);
            // Find the matching bracket; inner references nest.
            var depth = 0;
            var end = start;
            for (; end < path.Length; end++)
            {
                if (path[end] == '[')
                {
                    depth++;
                }
                else if (path[end] == ']' && --depth == 0)
                {
                    break;
                }
            }
            if (end >= path.Length)
            {
                throw new FormatException($"Invalid property expression: unterminated reference in '{path}'");
            }
            var inner = Resolve(path[(start + 5)..end], msg);
            var value = PropertyPath.Parse(inner).Get(msg);
            sb.Append(value switch
            {
                JsonValue v when JsonTools.IsNumber(v, out var n) && n == Math.Floor(n) && n >= 0 => "[" + ((long)n).ToString(CultureInfo.InvariantCulture) + "]",
                JsonValue v when JsonTools.IsString(v, out var s) => "[\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"]",
                _ => throw new FormatException($"Invalid property expression: msg.{inner} is not a string or number"),
            });
            i = end + 1;
        }
        return sb.ToString();
    }
}
