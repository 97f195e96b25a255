using System.Collections;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Engine;

/// <summary>
/// What a script sends most often — one message on port 0 (<c>return msg</c>, <c>node.send(msg)</c>) — as a per-port
/// list in one small object, instead of a list of ports holding a list of one message (three objects per message, on every
/// function-node hop). <see cref="RunningNode.Send(IReadOnlyList{IReadOnlyList{FlowMessage}?}, bool)"/> recognises it.
/// </summary>
internal sealed class OnePortSend(FlowMessage message) : IReadOnlyList<IReadOnlyList<FlowMessage>?>, IReadOnlyList<FlowMessage>
{
    public FlowMessage Message { get; } = message;

    /// <summary>No ports: what <c>return null</c> sends (shared, never changed).</summary>
    public static IReadOnlyList<IReadOnlyList<FlowMessage>?> None { get; } = [];

    public int Count => 1;

    IReadOnlyList<FlowMessage>? IReadOnlyList<IReadOnlyList<FlowMessage>?>.this[int index] =>
        index == 0 ? this : throw new ArgumentOutOfRangeException(nameof(index));

    FlowMessage IReadOnlyList<FlowMessage>.this[int index] =>
        index == 0 ? Message : throw new ArgumentOutOfRangeException(nameof(index));

    IEnumerator<IReadOnlyList<FlowMessage>?> IEnumerable<IReadOnlyList<FlowMessage>?>.GetEnumerator()
    {
        yield return this;
    }

    IEnumerator<FlowMessage> IEnumerable<FlowMessage>.GetEnumerator()
    {
        yield return Message;
    }

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<FlowMessage>)this).GetEnumerator();
}
