using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Messages;

/// <summary>A value nested deeper than <see cref="JsonDepth.Max"/>: that message fails, as a catchable node error.</summary>
public sealed class JsonDepthException(string message) : InvalidOperationException(message);

/// <summary>
/// Depth-limited walks over messages. Parsed JSON is at most 64 deep (System.Text.Json's default), but flows can nest
/// values further one step per pass (a change node moving <c>payload</c> into <c>payload.a</c> in a loop, a join of
/// joins), and every recursive walk over such a value (clone, compare, debug) would overflow the stack, which ends the
/// process. The walks below refuse beyond <see cref="Max"/> levels instead.
/// </summary>
public static class JsonDepth
{
    /// <summary>Deepest nesting a message value may have (below System.Text.Json's writer limit of 1,000).</summary>
    public const int Max = 512;

    /// <summary>A deep copy; throws <see cref="JsonDepthException"/> when <paramref name="node"/> nests deeper than <paramref name="budget"/>.</summary>
    public static JsonNode? Clone(JsonNode? node, int budget = Max)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject o:
                {
                    Spend(ref budget);
                    var copy = new JsonObject();
                    foreach (var (key, value) in o)
                    {
                        copy[key] = Clone(value, budget);
                    }
                    return copy;
                }
            case JsonArray a:
                {
                    Spend(ref budget);
                    var copy = new JsonArray();
                    foreach (var value in a)
                    {
                        copy.Add(Clone(value, budget));
                    }
                    return copy;
                }
            default:
                // Special JavaScript values would become plain nulls through DeepClone (they write as null).
                return JsSpecial.Of(node) is { } special ? special.ToNode() : node.DeepClone();
        }
    }

    /// <summary>Throws <see cref="JsonDepthException"/> when <paramref name="node"/> nests deeper than <paramref name="budget"/>.</summary>
    public static void Check(JsonNode? node, int budget = Max)
    {
        switch (node)
        {
            case JsonObject o:
                Spend(ref budget);
                foreach (var (_, value) in o)
                {
                    if (value is JsonObject or JsonArray)
                    {
                        Check(value, budget);
                    }
                }
                break;
            case JsonArray a:
                Spend(ref budget);
                foreach (var value in a)
                {
                    if (value is JsonObject or JsonArray)
                    {
                        Check(value, budget);
                    }
                }
                break;
        }
    }

    /// <summary>How far below its root <paramref name="node"/> sits (0 for a root).</summary>
    public static int Level(JsonNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var level = 0;
        for (var p = node.Parent; p is not null; p = p.Parent)
        {
            level++;
        }
        return level;
    }

    /// <summary>Structural equality; throws <see cref="JsonDepthException"/> beyond <see cref="Max"/> levels.</summary>
    public static bool DeepEquals(JsonNode? a, JsonNode? b, int budget = Max)
    {
        switch (a)
        {
            case JsonObject oa when b is JsonObject ob:
                Spend(ref budget);
                if (oa.Count != ob.Count)
                {
                    return false;
                }
                foreach (var (key, value) in oa)
                {
                    if (!ob.TryGetPropertyValue(key, out var other) || !DeepEquals(value, other, budget))
                    {
                        return false;
                    }
                }
                return true;
            case JsonArray aa when b is JsonArray ab:
                Spend(ref budget);
                if (aa.Count != ab.Count)
                {
                    return false;
                }
                for (var i = 0; i < aa.Count; i++)
                {
                    if (!DeepEquals(aa[i], ab[i], budget))
                    {
                        return false;
                    }
                }
                return true;
            case JsonObject or JsonArray:
                return false;
            default:
                return b is not JsonObject and not JsonArray && JsonNode.DeepEquals(a, b);
        }
    }

    private static void Spend(ref int budget)
    {
        if (--budget < 0)
        {
            throw new JsonDepthException($"Value nested more than {Max} levels deep");
        }
    }
}
