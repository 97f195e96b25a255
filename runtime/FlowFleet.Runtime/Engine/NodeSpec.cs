using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Engine;

/// <summary>One node to run, as computed from a flow document (subflow instances expanded).</summary>
internal sealed class NodeSpec
{
    public required string Id { get; init; }

    public required string Alias { get; init; }

    public required string Type { get; init; }

    public required JsonObject Config { get; init; }

    /// <summary>The node's JSON as its document serialized it (position and wires included).</summary>
    public ReadOnlyMemory<byte> Json { get; init; }

    public required ScopeSpec Scope { get; init; }

    public bool IsConfig { get; init; }

    /// <summary>Runtime ids per output port.</summary>
    public List<List<string>> Wires { get; init; } = [];

    /// <summary>
    /// What a deploy compares besides the node's own properties and its <see cref="Wires"/>: the flow's and the group's
    /// settings (a subflow instance's also holds the instance's own wires).
    /// </summary>
    public required string Signature { get; init; }

    /// <summary>
    /// True when a deploy can leave the running node as it is: same type, properties (but position), wiring and flow. A
    /// node whose JSON is byte for byte the same is compared by its bytes; only one that differs (a change, or a move) is
    /// compared property by property.
    /// </summary>
    public bool SameAs(NodeSpec other) =>
        Type == other.Type && Signature == other.Signature && SameWires(Wires, other.Wires) &&
        ((!Json.IsEmpty && Json.Span.SequenceEqual(other.Json.Span)) || DeployPlanner.SameConfig(Config, other.Config));

    private static bool SameWires(List<List<string>> a, List<List<string>> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }
        for (var p = 0; p < a.Count; p++)
        {
            if (!a[p].SequenceEqual(b[p], StringComparer.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>For subflow instance nodes: the runtime ids its input feeds.</summary>
    public bool IsSubflowInstance { get; init; }

    public string? GroupId { get; init; }
}

/// <summary>A flow the nodes run in: a tab, or a subflow instance inside a parent flow.</summary>
internal sealed class ScopeSpec
{
    public required string Id { get; init; }

    public string? Label { get; init; }

    public ScopeSpec? Parent { get; init; }

    /// <summary>The subflow instance node (runtime id) in the parent flow.</summary>
    public string? InstanceNodeId { get; init; }

    /// <summary>Env entries, nearest first: the instance's overrides, then the definition's (or the tab's).</summary>
    public List<JsonArray> Env { get; init; } = [];

    /// <summary>Signature of the tab's own properties (a change restarts the whole tab on a <c>flows</c> deploy).</summary>
    public string Signature { get; init; } = "";
}
