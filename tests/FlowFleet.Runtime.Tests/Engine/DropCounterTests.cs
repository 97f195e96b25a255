using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Runtime.Tests.Engine;

public sealed class DropCounterTests
{
    [Fact]
    public async Task Messages_dropped_from_a_full_queue_are_counted_per_node_type_and_logged()
    {
        // Ten sends into a gated consumer with a queue of 4: it holds one in its handler and four in its queue; the other five
        // wait for room until the queue-full timeout and are dropped, each logged as the consumer's error (without a message,
        // so not one for catch nodes, as in Node-RED). The gate stays shut until all five errors are logged, so the counts do
        // not depend on how fast the machine is.
        var gate = new SemaphoreSlim(0);
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"p","type":"test-burst","z":"t","x":0,"y":0,"wires":[["slow"]]},
         {"id":"slow","type":"test-gated","z":"t","x":0,"y":0,"wires":[["out"]]},
         {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """, o => { o.QueueCapacity = 4; o.QueueFullTimeout = TimeSpan.FromMilliseconds(200); }, sc => sc.AddSingleton(gate));
        var errors = new List<NodeLogEntry>();
        var fiveErrors = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var log = h.Engine.Events.Log.Subscribe(e =>
        {
            lock (errors)
            {
                errors.Add(e);
                if (errors.Count(x => x.Level == "error") == 5)
                {
                    fiveErrors.TrySetResult();
                }
            }
        });
        h.Send("p", JsonValue.Create(0));

        await fiveErrors.Task.WaitAsync(TimeSpan.FromSeconds(20));
        lock (errors)
        {
            Assert.All(errors.Where(e => e.Level == "error"), e => Assert.Equal(("slow", "Queue full (4 messages): message dropped"), (e.NodeId, e.Message)));
        }
        Assert.Equal(5, h.Engine.Metrics.ByType["test-gated"].Dropped);
        Assert.Equal(0, h.Engine.Metrics.ByType.GetValueOrDefault("test-burst")?.Dropped ?? 0);

        // The five that found room arrive, first to fifth, once the consumer may go on; the dropped ones never do.
        gate.Release(1_000);
        var received = await h.TakeAsync("out", 5);
        Assert.Equal([0, 1, 2, 3, 4], received.Select(m => (int)JsonTools.ToNumber(m.Payload)));
        Assert.Equal(5, h.Engine.Metrics.ByType["test-gated"].Out);
        Assert.Equal(5, h.Engine.Metrics.ByType["test-gated"].Dropped);
    }
}
