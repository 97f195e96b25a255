using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Runtime.Tests.Engine;

public sealed class BackPressureTests
{
    [Fact]
    public async Task A_csharp_sender_is_held_without_a_blocked_thread_until_the_slow_consumer_drains()
    {
        var gate = new SemaphoreSlim(0);
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"p","type":"test-burst","z":"t","x":0,"y":0,"wires":[["slow"]]},
         {"id":"slow","type":"test-gated","z":"t","x":0,"y":0,"wires":[["out"]]},
         {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """, o => o.QueueCapacity = 4, sc => sc.AddSingleton(gate));
        var producer = (BurstNode)h.Engine.GetNode("p")!;
        h.Send("p", JsonValue.Create(0));
        h.Send("p", JsonValue.Create(1));
        // The first input's 10 sends went out although the consumer's queue holds 4 and it is gated: the handler returned,
        // so no thread is blocked in it ...
        await producer.Returned.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        // ... but the producer is held: it takes no new input while its sends wait for room.
        Assert.False(producer.Returned.Reader.TryRead(out _));
        Assert.Equal(1, producer.Handled);
        gate.Release(1_000);
        var received = await h.TakeAsync("out", 20);
        Assert.Equal(Enumerable.Range(0, 20), received.Select(m => (int)JsonTools.ToNumber(m.Payload)));
        Assert.Equal(2, producer.Handled);
        Assert.Equal(0, h.Engine.Metrics.ByType["test-gated"].Dropped);
        Assert.True(h.Engine.Metrics.ByType["test-gated"].QueueFull > 0);
    }

    [Fact]
    public async Task A_source_send_into_a_full_queue_returns_at_once_and_completes_when_the_consumer_drains()
    {
        var gate = new SemaphoreSlim(0);
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"src","type":"test-source","z":"t","x":0,"y":0,"wires":[["slow"]]},
         {"id":"slow","type":"test-gated","z":"t","x":0,"y":0,"wires":[["out"]]},
         {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """, o => o.QueueCapacity = 4, sc => sc.AddSingleton(gate));
        var source = (SourceNode)h.Engine.GetNode("src")!;
        var n = 0;
        ValueTask send;
        // Not on a node's input thread (as an MQTT client's callback): sends go straight in until the gated queue is full ...
        while ((send = source.Emit(n++)).IsCompleted)
        {
            Assert.True(n < 50, "the consumer's queue never filled");
        }
        // ... and the one that found it full came back without holding this thread, still pending.
        Assert.False(send.IsCompleted);
        gate.Release(1_000);
        await send.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        while (n < 20)
        {
            await source.Emit(n++).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        var received = await h.TakeAsync("out", 20);
        Assert.Equal(Enumerable.Range(0, 20), received.Select(m => (int)JsonTools.ToNumber(m.Payload)));
        Assert.Equal(0, h.Engine.Metrics.ByType["test-gated"].Dropped);
        Assert.True(h.Engine.Metrics.ByType["test-gated"].QueueFull > 0);
    }
}

/// <summary>A source: the test calls <see cref="Emit"/> from its own thread, as a client library's callback would.</summary>
[NodeType("test-source", Category = "test", Inputs = 0)]
public sealed class SourceNode : FlowNode
{
    public ValueTask Emit(int n) => Node.SendAsync(FlowMessage.Create(JsonValue.Create(n)));
}

/// <summary>Sends ten messages for each input (payload = input × 10 + i), then reports that its handler returned.</summary>
[NodeType("test-burst", Category = "test")]
public sealed class BurstNode : FlowNode
{
    private int _handled;

    public System.Threading.Channels.Channel<int> Returned { get; } = System.Threading.Channels.Channel.CreateUnbounded<int>();

    public int Handled => Volatile.Read(ref _handled);

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var n = (int)JsonTools.ToNumber(msg.Payload);
        for (var i = 0; i < 10; i++)
        {
            Node.Send(FlowMessage.Create(JsonValue.Create(n * 10 + i)));
        }
        Interlocked.Increment(ref _handled);
        Returned.Writer.TryWrite(n);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Passes each message on once the test's gate lets it.</summary>
[NodeType("test-gated", Category = "test")]
public sealed class GatedNode(SemaphoreSlim gate) : FlowNode
{
    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        Node.Send(msg);
    }
}
