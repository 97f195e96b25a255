using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Benchmarks;

/// <summary>Forwards each message unchanged: measures the engine's own per-hop cost.</summary>
[NodeType("bench-pass", Category = "test")]
public sealed class PassNode : FlowNode
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}
