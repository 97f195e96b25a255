using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Common;

/// <summary>A wire junction: passes every message on.</summary>
[NodeType("junction", Category = "common", Color = "#d9d9d9", Icon = "circle", Help = "Joins and splits wires; messages pass through unchanged.")]
public sealed class JunctionNode : FlowNode
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}
