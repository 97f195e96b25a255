using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using FlowFleet.Runtime.Scripting;
using Jint;
using Jint.Native;

namespace FlowFleet.Runtime.Tests.Scripting;

/// <summary>What <c>node.send(msg, false)</c> queues during a run: every send, in order, and no large-object allocation for a burst.</summary>
public sealed class DeferredSendsTests
{
    [Fact]
    public void A_burst_is_sent_in_order_across_chunks_and_the_queue_is_empty_after()
    {
        var deferred = new DeferredSends();
        for (var i = 0; i < 5_000; i++)
        {
            deferred.Add(JsNumber.Create(i), null);
        }
        var sent = new List<double>();
        deferred.Drain(sent, static (list, msgs, _) => list.Add(msgs.AsNumber()));
        Assert.Equal(Enumerable.Range(0, 5_000).Select(i => (double)i), sent);
        Assert.True(deferred.IsEmpty);

        // The next run starts from nothing: only its own sends go out.
        deferred.Add(JsNumber.Create(7), null);
        sent.Clear();
        deferred.Drain(sent, static (list, msgs, _) => list.Add(msgs.AsNumber()));
        Assert.Equal([7.0], sent);
    }

    [Fact]
    public void A_burst_of_200000_sends_allocates_nothing_on_the_large_object_heap()
    {
        // One list doubling up to ~4 MB put each growth past 85 KB on the large-object heap, whose budget only full
        // collections spend: in the throughput bench, one or two full collections per burst while its messages were alive.
        using var listener = new LargeAllocations();
        var deferred = new DeferredSends();
        for (var i = 0; i < 200_000; i++)
        {
            deferred.Add(JsValue.Undefined, null);
        }
        var count = 0;
        deferred.Drain(0, (_, _, _) => count++);
        Assert.Equal(200_000, count);
        Assert.DoesNotContain(listener.TypeNames, name => name.Contains("FlowMessage", StringComparison.Ordinal));
    }

    /// <summary>The runtime's allocation ticks for the large-object heap (one per ~100 KB allocated there), by type name.</summary>
    private sealed class LargeAllocations : EventListener
    {
        public ConcurrentBag<string> TypeNames { get; } = [];

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                // GC keyword (0x1) at verbose level: GCAllocationTick.
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true && e.Payload is { } payload
                && e.PayloadNames is { } names
                && payload[names.IndexOf("AllocationKind")] is uint kind && kind == 1
                && payload[names.IndexOf("TypeName")] is string type)
            {
                TypeNames.Add(type);
            }
        }
    }
}
