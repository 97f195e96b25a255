using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Common;

/// <summary>
/// Node-RED's link call bookkeeping, shared by the link call node and the function node's <c>node.linkcall</c>:
/// <c>msg._linkSource</c> is a stack of <c>{id, node}</c> frames, one per call in progress, which a link out in return
/// mode pops to find its caller.
/// </summary>
internal static class LinkCallFrames
{
    /// <summary>Pushes a frame for a call from <paramref name="callerId"/>; returns the call's id.</summary>
    public static string Push(FlowMessage msg, string callerId)
    {
        var callId = MessageId.New();
        var stack = msg.Data["_linkSource"] as JsonArray ?? [];
        stack.Add(new JsonObject { ["id"] = callId, ["node"] = callerId });
        msg.Data["_linkSource"] = stack;
        return callId;
    }

    /// <summary>Removes the top frame (and the stack once empty); false when the message carries none.</summary>
    public static bool TryPop(FlowMessage msg, out string? callId)
    {
        callId = null;
        if (msg.Data["_linkSource"] is not JsonArray stack || stack.Count == 0 || stack[^1] is not JsonObject top)
        {
            return false;
        }
        stack.RemoveAt(stack.Count - 1);
        if (stack.Count == 0)
        {
            msg.Data.Remove("_linkSource");
        }
        callId = top["id"]?.GetValue<string>();
        return true;
    }

    /// <summary>The id of the link in named <paramref name="wanted"/> by its alias, id or name; null when there is none.</summary>
    public static string? FindLinkIn(INodeHost node, string wanted) =>
        node.NodesOfType("link in").FirstOrDefault(n => n.Host.Alias == wanted || n.Host.Id == wanted || n.Host.Name == wanted).Host?.Id;
}
