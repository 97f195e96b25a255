using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FlowFleet.Server.Tests.NodeRed;

/// <summary>
/// Makes debug packets of the two runtimes comparable: case prefixes come off ids, <c>_msgid</c>s become labels in
/// order of first appearance, stacks become a marker, and the JSON text of objects is parsed so key order and
/// spacing don't count. Everything else must match exactly.
/// </summary>
public static partial class DebugNormalizer
{
    public static List<JsonObject> Normalize(IReadOnlyList<JsonObject> packets, DiffCase c)
    {
        ArgumentNullException.ThrowIfNull(packets);
        ArgumentNullException.ThrowIfNull(c);
        // Ids are labelled per debug node: the interleaving of different debug nodes is not compared.
        var labelsById = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        var result = new List<JsonObject>();
        foreach (var p in packets)
        {
            var debugId = p["id"]?.ToString() ?? "";
            if (!labelsById.TryGetValue(debugId, out var labels))
            {
                labels = new Dictionary<string, string>(StringComparer.Ordinal);
                labelsById[debugId] = labels;
            }
            var n = (JsonObject)p.DeepClone();
            n.Remove("z");
            n.Remove("path");
            n.Remove("_alias");
            if (n["msg"] is JsonValue v && v.TryGetValue<string>(out var text) &&
                n["format"]?.GetValue<string>() is { } format && (format is "Object" or "error" || format.StartsWith("array", StringComparison.Ordinal)))
            {
                try
                {
                    n["msg"] = JsonNode.Parse(text);
                }
                catch (System.Text.Json.JsonException)
                {
                    // Compared as text.
                }
            }
            n = (JsonObject)Walk(n, labels, null)!;
            if (n["timestamp"] is JsonValue)
            {
                n["timestamp"] = "<timestamp>";
            }
            foreach (var path in c.Ignore)
            {
                // "debugId#path" blanks the path only in what that one debug node showed.
                var only = path.IndexOf('#', StringComparison.Ordinal);
                if (only < 0)
                {
                    Blank(n, path);
                }
                else if (path[..only] == n["id"]?.GetValue<string>())
                {
                    Blank(n, path[(only + 1)..]);
                }
            }
            result.Add(n);
        }
        return result;
    }

    private static JsonNode? Walk(JsonNode? node, Dictionary<string, string> labels, string? key)
    {
        switch (node)
        {
            case JsonObject o:
                // Key order is not compared: sorted, re-created.
                var sorted = new JsonObject();
                foreach (var k in o.Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList())
                {
                    var child = o[k];
                    o.Remove(k);
                    sorted[k] = Walk(child, labels, key == "parts" && k == "id" ? "parts.id" : k);
                }
                return sorted;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    var replaced = Walk(a[i], labels, null);
                    if (!ReferenceEquals(replaced, a[i]))
                    {
                        a[i] = replaced;
                    }
                }
                return a;
            case JsonValue v when v.TryGetValue<string>(out var s):
                if (key is "_msgid" or "parts.id")
                {
                    if (!labels.TryGetValue(s, out var label))
                    {
                        label = "msgid" + (labels.Count + 1);
                        labels[s] = label;
                    }
                    return JsonValue.Create(label);
                }
                if (key == "stack")
                {
                    return JsonValue.Create(s.Length > 0 ? "<stack>" : "");
                }
                var stripped = Prefix().Replace(s, "");
                return stripped == s ? v : JsonValue.Create(stripped);
            default:
                return node;
        }
    }

    /// <summary>Replaces the value at a dotted path (from the packet root, e.g. <c>msg.payload.time</c>) with a marker.</summary>
    private static void Blank(JsonObject packet, string path)
    {
        JsonNode? current = packet;
        var parts = path.Split('.');
        for (var i = 0; i < parts.Length - 1 && current is not null; i++)
        {
            current = current is JsonObject o ? o[parts[i]] : null;
        }
        if (current is JsonObject parent && parent.ContainsKey(parts[^1]))
        {
            parent[parts[^1]] = "<ignored>";
        }
    }

    [GeneratedRegex(@"\bc\d+_")]
    private static partial Regex Prefix();
}
