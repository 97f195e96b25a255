using System.Text.Json.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>One search result: a flow node (shown on its flow's canvas) or a config node (opened in its dialog).</summary>
public sealed record SearchHit(string Id, string Label, string Type, string? FlowId, string FlowLabel, bool IsConfig);

/// <summary>
/// Node-RED's search (ctrl-f) over every flow of the workspace: free text matches a node's label, type, id or any
/// property's text (case-insensitive substring, as Node-RED); <c>is:modified</c>, <c>is:invalid</c> and <c>type:name</c>
/// narrow the results and may stand alone.
/// </summary>
public static class FlowSearch
{
    // Layout and wiring are not what a user searches for; ids match whole (every id shares short hex runs).
    private static readonly HashSet<string> s_skipped = new(StringComparer.Ordinal) { "id", "x", "y", "z", "w", "h", "wires", "g" };

    public static IReadOnlyList<SearchHit> Find(FlowWorkspace ws, string query, IReadOnlyDictionary<string, JsonObject> descriptors, int max = 100)
    {
        var modified = false;
        var invalid = false;
        string? type = null;
        var words = new List<string>();
        foreach (var token in query.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (token.Equals("is:modified", StringComparison.OrdinalIgnoreCase))
            {
                modified = true;
            }
            else if (token.Equals("is:invalid", StringComparison.OrdinalIgnoreCase))
            {
                invalid = true;
            }
            else if (token.StartsWith("type:", StringComparison.OrdinalIgnoreCase) && token.Length > 5)
            {
                type = token[5..];
            }
            else
            {
                words.Add(token);
            }
        }
        var text = string.Join(' ', words);
        if (text.Length == 0 && !modified && !invalid && type is null)
        {
            return [];
        }
        var tabs = ws.Tabs.ToDictionary(FlowWorkspace.IdOf, t => t["label"]?.ToString() ?? FlowWorkspace.IdOf(t), StringComparer.Ordinal);
        var hits = new List<SearchHit>();
        foreach (var node in ws.Items)
        {
            var nodeType = FlowWorkspace.TypeOf(node);
            var isFlowNode = FlowWorkspace.IsFlowNode(node);
            if (!isFlowNode && nodeType is "tab" or "group" or "subflow")
            {
                continue;
            }
            var descriptor = descriptors.GetValueOrDefault(nodeType);
            if ((type is not null && !nodeType.Equals(type, StringComparison.OrdinalIgnoreCase))
                || (modified && !ws.IsChanged(node))
                || (invalid && NodeValidation.IsValid(node, descriptor, ws.Find)))
            {
                continue;
            }
            var label = NodeGeometry.Label(node, descriptor);
            if (text.Length > 0 && !Matches(node, label, text))
            {
                continue;
            }
            var z = FlowWorkspace.Z(node);
            hits.Add(new SearchHit(FlowWorkspace.IdOf(node), label, nodeType, isFlowNode ? z : null,
                isFlowNode && z is not null ? tabs.GetValueOrDefault(z, z) : "config", !isFlowNode));
            if (hits.Count >= max)
            {
                break;
            }
        }
        return hits;
    }

    private static bool Matches(JsonObject node, string label, string text)
    {
        if (label.Contains(text, StringComparison.OrdinalIgnoreCase) || FlowWorkspace.IdOf(node).Equals(text, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        foreach (var (key, value) in node)
        {
            if (!s_skipped.Contains(key) && Contains(value, text))
            {
                return true;
            }
        }
        return false;
    }

    private static bool Contains(JsonNode? value, string text) => value switch
    {
        JsonObject o => o.Any(kv => Contains(kv.Value, text)),
        JsonArray a => a.Any(v => Contains(v, text)),
        JsonValue v => NodeValidation.Text(v).Contains(text, StringComparison.OrdinalIgnoreCase),
        _ => false,
    };
}
