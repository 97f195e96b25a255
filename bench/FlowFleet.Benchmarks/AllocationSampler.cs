using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace FlowFleet.Benchmarks;

/// <summary>
/// Where a run's allocations go, by type: the runtime's allocation-tick events (one per ~100 KB allocated, naming the type of
/// the object that crossed the mark) counted in process. BENCH_ALLOC=1 turns it on for <c>throughput</c>.
/// </summary>
public sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            // GC keyword, verbose: GCAllocationTick_V4.
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.Payload is null)
        {
            return;
        }
        var name = eventData.PayloadNames!.IndexOf("TypeName") is var i and >= 0 ? eventData.Payload[i] as string ?? "?" : "?";
        var amount = eventData.PayloadNames!.IndexOf("AllocationAmount64") is var j and >= 0 ? Convert.ToInt64(eventData.Payload[j], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        _bytes.AddOrUpdate(name, amount, (_, v) => v + amount);
    }

    /// <summary>The sampled bytes per type since the last call, largest first, and starts counting again.</summary>
    public IReadOnlyList<(string Type, long Bytes)> Take(int top)
    {
        var snapshot = _bytes.ToArray();
        _bytes.Clear();
        return snapshot.OrderByDescending(kv => kv.Value).Take(top).Select(kv => (kv.Key, kv.Value)).ToList();
    }
}
