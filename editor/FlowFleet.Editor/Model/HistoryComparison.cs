using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;

namespace FlowFleet.Editor.Model;

/// <summary>Two flow sets being compared in the editor (a kept version, or the workspace) and their diff.</summary>
public sealed record HistoryComparison(JsonArray From, JsonArray To, string FromLabel, string ToLabel)
{
    public FlowDiff Diff { get; } = FlowDiff.Compute(From, To);
}
