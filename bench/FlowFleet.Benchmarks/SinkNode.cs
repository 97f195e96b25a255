using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Benchmarks;

/// <summary>Counts arriving messages and signals when the expected number arrived.</summary>
[NodeType("bench-sink", Category = "test", Outputs = 0)]
public sealed class SinkNode : FlowNode
{
    private int _seen;
    private int _expected;
    private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Expect(int count)
    {
        _seen = 0;
        _expected = count;
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _done.Task;
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (++_seen == _expected)
        {
            _done.TrySetResult();
        }
        return ValueTask.CompletedTask;
    }
}
