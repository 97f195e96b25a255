using System.Threading.Channels;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Runtime.Tests.Harness;

/// <summary>Node-RED's <c>helper</c> node: records every message it receives, in order.</summary>
[NodeType("helper", Category = "test", Inputs = 1, Outputs = 0)]
public sealed class CaptureNode : FlowNode
{
    private readonly Channel<FlowMessage> _received = Channel.CreateUnbounded<FlowMessage>();

    public ChannelReader<FlowMessage> Received => _received.Reader;

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        _received.Writer.TryWrite(msg);
        return ValueTask.CompletedTask;
    }
}
