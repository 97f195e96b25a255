using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Runtime.Tests.Harness;

/// <summary>Passes messages on, counting them in node context (to see that a node kept its state across deploys).</summary>
[NodeType("test-counter", Category = "test")]
public sealed class CounterNode : FlowNode
{
    private int _count;

    public int Count => _count;

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        msg.Data["count"] = Interlocked.Increment(ref _count);
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Fails every message with the payload as error text.</summary>
[NodeType("test-fail", Category = "test")]
public sealed class FailNode : FlowNode
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("failed: " + JsonTools.ToJsString(msg.Payload));
}

/// <summary>Sets its status to the payload text.</summary>
[NodeType("test-status", Category = "test")]
public sealed class StatusSetterNode : FlowNode
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        Node.Status(new NodeStatus("green", "dot", JsonTools.ToJsString(msg.Payload)));
        return ValueTask.CompletedTask;
    }
}

/// <summary>A minimal catch/status/complete observer for engine tests (the real ones live in the core nodes).</summary>
public abstract class ObserverNode : FlowNode
{
    public IReadOnlyCollection<string>? Scope => Node.Config["scope"] is JsonArray a ? a.Select(x => x!.GetValue<string>()).ToList() : null;

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}

[NodeType("test-catch", Category = "test", Inputs = 0)]
public sealed class TestCatchNode : ObserverNode, ICatchObserver
{
    public bool UncaughtOnly => JsonTools.IsTruthy(Node.Config["uncaught"]);
}

[NodeType("test-statuswatch", Category = "test", Inputs = 0)]
public sealed class TestStatusNode : ObserverNode, IStatusObserver;

[NodeType("test-complete", Category = "test", Inputs = 0)]
public sealed class TestCompleteNode : ObserverNode, ICompleteObserver;
