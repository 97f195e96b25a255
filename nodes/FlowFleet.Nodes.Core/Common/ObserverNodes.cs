using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Common;

/// <summary>Shared config reading for catch, status and complete: <c>scope</c> is null (whole flow), an id list, or "group".</summary>
public abstract class ObserverNodeBase : FlowNode<ObserverConfig>
{
    public IReadOnlyCollection<string>? Scope => Node.Config["scope"] is JsonArray a
        ? a.Select(x => x?.GetValue<string>()).OfType<string>().ToList()
        : null;

    public bool GroupScope => Node.Config["scope"] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == "group";

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Catches errors thrown by nodes of the same flow (all, selected, or the group), or only uncaught ones.</summary>
[NodeType("catch", Category = "common", Inputs = 0, Outputs = 1, Color = "#e49191", Icon = "warning",
    Help = "Receives `msg.error = {message, source:{id,type,name,count}}` when a node in scope reports an error with a message. `uncaught` takes only errors no other catch node handled.")]
public sealed class CatchNode : ObserverNodeBase, ICatchObserver
{
    public bool UncaughtOnly => JsonTools.IsTruthy(Node.Config["uncaught"]);

    bool IScopedObserver.GroupScope => GroupScope;
}

/// <summary>Reports status changes of nodes in scope as <c>msg.status</c>.</summary>
[NodeType("status", Category = "common", Inputs = 0, Outputs = 1, Color = "#94c1d0", Icon = "info",
    Help = "Receives `msg.status = {fill, shape, text, source:{id,type,name}}` whenever a node in scope changes its status.")]
public sealed class StatusNode : ObserverNodeBase, IStatusObserver
{
    bool IScopedObserver.GroupScope => GroupScope;
}

/// <summary>Sends the message a watched node finished with.</summary>
[NodeType("complete", Category = "common", Inputs = 0, Outputs = 1, Color = "#c0edc0", Icon = "done_all",
    Help = "Sends a copy of each message that a selected node finished handling (Node-RED's complete).")]
public sealed class CompleteNode : ObserverNodeBase, ICompleteObserver
{
    bool IScopedObserver.GroupScope => GroupScope;
}

/// <summary>Properties of catch, status and complete nodes.</summary>
public sealed class ObserverConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "null", UiHint = PropertyUi.Json, Label = "Scope", Help = "null = all nodes of the flow, a list of node ids, or \"group\".")]
    public JsonNode? Scope { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Ignore errors handled by other Catch nodes")]
    public bool Uncaught { get; set; }
}
