using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Flows;

/// <summary>
/// Checks how subflows and groups nest before anything expands them: a subflow that contains itself (directly or
/// through others) would recurse without end at deploy and overflow the stack, which no handler can catch; a long
/// chain or a fan-out of nested subflows would expand to more nodes than any process holds.
/// </summary>
internal static class FlowNesting
{
    /// <summary>Deepest allowed chain of subflow instances inside subflows.</summary>
    public const int MaxSubflowDepth = 32;

    /// <summary>Most nodes a flow set may expand to once every subflow instance is counted.</summary>
    public const long MaxExpandedNodes = 2_000_000;

    public static void Check(FlowDocument doc, List<string> errors)
    {
        CheckSubflows(doc, errors);
        CheckGroups(doc, errors);
    }

    private static void CheckSubflows(FlowDocument doc, List<string> errors)
    {
        // Edges: subflow definition -> the subflows it holds instances of (with how many), and the node counts per container.
        var uses = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        var ownNodes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var n in doc.FlowNodes)
        {
            var z = doc.ZOf(n) ?? "";
            ownNodes[z] = ownNodes.GetValueOrDefault(z) + 1;
            var type = doc.TypeOf(n);
            if (type.StartsWith("subflow:", StringComparison.Ordinal) && doc.Subflows.ContainsKey(type["subflow:".Length..]))
            {
                var inner = type["subflow:".Length..];
                var map = uses.TryGetValue(z, out var m) ? m : uses[z] = new Dictionary<string, long>(StringComparer.Ordinal);
                map[inner] = map.GetValueOrDefault(inner) + 1;
            }
        }
        // Iterative depth-first search (the nesting itself is what may be too deep for recursion).
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 on the current path, 2 done
        var size = new Dictionary<string, long>(StringComparer.Ordinal);
        var height = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var root in doc.Subflows.Keys)
        {
            if (state.ContainsKey(root))
            {
                continue;
            }
            var path = new List<string>();
            var stack = new Stack<(string Id, IEnumerator<string> Next)>();
            Enter(root);
            while (stack.Count > 0)
            {
                var (id, next) = stack.Peek();
                if (next.MoveNext())
                {
                    var child = next.Current;
                    if (!state.TryGetValue(child, out var s))
                    {
                        Enter(child);
                    }
                    else if (s == 1)
                    {
                        var cycle = path.Skip(path.IndexOf(child)).Append(child).Select(c => Describe(doc, c));
                        errors.Add("Subflow cycle: " + string.Join(" → ", cycle) + " (a subflow may not contain itself)");
                        return;
                    }
                    continue;
                }
                stack.Pop();
                path.RemoveAt(path.Count - 1);
                state[id] = 2;
                long total = ownNodes.GetValueOrDefault(id);
                var deepest = 0;
                foreach (var (child, count) in uses.GetValueOrDefault(id) ?? [])
                {
                    total = Saturate(total + Multiply(count, size[child]));
                    deepest = Math.Max(deepest, height[child] + 1);
                }
                size[id] = total;
                height[id] = deepest;
            }

            void Enter(string id)
            {
                state[id] = 1;
                path.Add(id);
                stack.Push((id, (uses.GetValueOrDefault(id)?.Keys ?? Enumerable.Empty<string>()).GetEnumerator()));
            }
        }
        foreach (var (id, h) in height.Where(kv => kv.Value > MaxSubflowDepth))
        {
            errors.Add($"Subflow {Describe(doc, id)} nests subflows {h} deep; at most {MaxSubflowDepth} levels are allowed");
            return;
        }
        long expanded = doc.FlowNodes.Count(n => !doc.Subflows.ContainsKey(doc.ZOf(n) ?? ""));
        foreach (var tab in doc.Tabs)
        {
            foreach (var (child, count) in uses.GetValueOrDefault(doc.IdOf(tab)) ?? [])
            {
                expanded = Saturate(expanded + Multiply(count, size[child]));
            }
        }
        if (expanded > MaxExpandedNodes)
        {
            errors.Add($"The flows expand to {(expanded >= Cap ? "too many" : expanded.ToString(System.Globalization.CultureInfo.InvariantCulture))} nodes once subflow instances are counted; at most {MaxExpandedNodes} are allowed");
        }
    }

    private static void CheckGroups(FlowDocument doc, List<string> errors)
    {
        // A group's "g" names its parent group; environment lookups walk that chain, so it must end.
        foreach (var g in doc.Groups)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var id = FlowDocument.Str(g, "id"); id is not null; id = doc.ById.TryGetValue(id, out var o) ? FlowDocument.Str(o, "g") : null)
            {
                if (!seen.Add(id))
                {
                    errors.Add($"Group cycle: group {FlowDocument.Str(g, "id")} is (indirectly) inside itself");
                    return;
                }
            }
        }
    }

    private const long Cap = long.MaxValue / 4;

    private static long Saturate(long value) => value is < 0 or > Cap ? Cap : value;

    private static long Multiply(long a, long b) => b != 0 && a > Cap / b ? Cap : a * b;

    private static string Describe(FlowDocument doc, string subflowId) =>
        doc.Subflows.TryGetValue(subflowId, out var s) && FlowDocument.Str(s, "name") is { Length: > 0 } name ? $"{subflowId} ({name})" : subflowId;
}
