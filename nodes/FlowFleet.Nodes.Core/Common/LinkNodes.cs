using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Common;

/// <summary>Receives messages from link out / link call nodes anywhere in the flows.</summary>
[NodeType("link in", Category = "common", Inputs = 0, Outputs = 1, Color = "#dddddd", Icon = "login",
    Help = "The end of a virtual wire: receives what the linked `link out` nodes send, or what a `link call` calls.")]
public sealed class LinkInNode : FlowNode<LinkConfig>
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Sends to linked link in nodes, or (mode "return") back to the link call that called this flow.</summary>
[NodeType("link out", Category = "common", Inputs = 1, Outputs = 0, Color = "#dddddd", Icon = "logout", Align = "right",
    Help = "The start of a virtual wire: sends to every linked `link in` (mode *link*), or returns the message to the `link call` node that started this path (mode *return*).")]
public sealed class LinkOutNode : FlowNode<LinkConfig>
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (Node.Config["mode"]?.GetValue<string>() == "return")
        {
            if (msg.Data["_linkSource"] is not JsonArray stack || stack.Count == 0)
            {
                throw new InvalidOperationException("No link call to return to (msg._linkSource is empty)");
            }
            // The link call pops its own entry when the message arrives back.
            var source = stack[^1] as JsonObject;
            var target = source?["node"]?.GetValue<string>();
            if (target is null || Node.FindNode(target) is not ILinkReturnTarget caller)
            {
                throw new InvalidOperationException($"The link call {target} to return to no longer exists");
            }
            // Node-RED 4's link out hands messages over as an event and leaves its name on them: msg._event.
            msg.Data["_event"] = "node:" + Node.Alias;
            caller.OnLinkReturn(msg);
            return ValueTask.CompletedTask;
        }
        var links = Node.Config["links"] as JsonArray ?? [];
        msg.Data["_event"] = "node:" + Node.Alias;
        var first = true;
        foreach (var id in links.Select(l => l?.GetValue<string>()).OfType<string>())
        {
            if (Node.Deliver(id, first ? msg : msg.Clone()))
            {
                first = false;
            }
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>Calls a flow that starts at a link in and ends at a link out in return mode; the result leaves this node.</summary>
[NodeType("link call", Category = "common", Inputs = 1, Outputs = 1, Color = "#dddddd", Icon = "call",
    Help = "Sends the message to a `link in` (fixed, or by name/id in `msg.target` when dynamic) and waits for the flow to return it through a `link out` in return mode; fails after `timeout` seconds.")]
public sealed class LinkCallNode : FlowNode<LinkConfig>, ILinkReturnTarget
{
    private readonly ConcurrentDictionary<string, Timer> _waiting = new(StringComparer.Ordinal);

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var target = TargetId(msg) ?? throw new InvalidOperationException("link call has no target link in node");
        var callId = LinkCallFrames.Push(msg, Node.Id);
        var timeout = JsonTools.ToNumber(Node.Config["timeout"]) is var t && t > 0 ? t : 30;
        var copy = msg.Clone();
        _waiting[callId] = new Timer(_ =>
        {
            if (_waiting.TryRemove(callId, out var timer))
            {
                timer.Dispose();
                Node.Error("timeout", copy);
            }
        }, null, TimeSpan.FromSeconds(timeout), Timeout.InfiniteTimeSpan);
        if (!Node.Deliver(target, msg))
        {
            _waiting.TryRemove(callId, out var timer);
            timer?.Dispose();
            throw new InvalidOperationException($"link in {target} is not running");
        }
        return ValueTask.CompletedTask;
    }

    private string? TargetId(FlowMessage msg)
    {
        if (Node.Config["linkType"]?.GetValue<string>() == "dynamic")
        {
            var wanted = msg.Data["target"] is { } t ? JsonTools.ToJsString(t) : null;
            return wanted is null ? null : LinkCallFrames.FindLinkIn(Node, wanted);
        }
        return (Node.Config["links"] as JsonArray)?.FirstOrDefault()?.GetValue<string>();
    }

    public void OnLinkReturn(FlowMessage msg)
    {
        ArgumentNullException.ThrowIfNull(msg);
        if (LinkCallFrames.TryPop(msg, out var id))
        {
            if (id is not null && _waiting.TryRemove(id, out var timer))
            {
                timer.Dispose();
            }
            else
            {
                return; // Already timed out: the error was reported.
            }
        }
        Node.Send(msg);
    }

    public override ValueTask CloseAsync(bool removed)
    {
        foreach (var t in _waiting.Values)
        {
            t.Dispose();
        }
        _waiting.Clear();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Properties of link in, link out and link call nodes.</summary>
public sealed class LinkConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "[]", UiHint = PropertyUi.Json, Label = "Linked nodes")]
    public JsonArray? Links { get; set; }

    [NodeProperty(Default = "\"link\"", UiHint = PropertyUi.Select, Options = ["link:Send to all connected link nodes", "return:Return to calling link node"], Label = "Mode (link out)")]
    public string? Mode { get; set; }

    [NodeProperty(Default = "\"static\"", UiHint = PropertyUi.Select, Options = ["static:Fixed target", "dynamic:Dynamic target (msg.target)"], Label = "Link type (link call)")]
    public string? LinkType { get; set; }

    [NodeProperty(Default = "\"30\"", UiHint = PropertyUi.Number, Label = "Timeout (s, link call)")]
    public double? Timeout { get; set; }
}
