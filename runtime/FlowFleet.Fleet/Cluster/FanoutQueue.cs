using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Cluster;

/// <summary>What one queued fan-out entry is about a device.</summary>
internal enum FanoutKind
{
    /// <summary>A prebuilt message (ownership, offline, event, config, info) in <see cref="FanoutItem.Raw"/>.</summary>
    Raw,

    /// <summary>A status delta still open for merging (<see cref="FanoutItem.Delta"/>).</summary>
    Status,

    /// <summary>Send the device's whole state as of the flush (its announcement, or offline when no longer held here).</summary>
    Resync,
}

/// <summary>One queued entry. <see cref="Coalesces"/> marks prebuilt state (config, info) a newer one of the same kind replaces.</summary>
internal sealed class FanoutItem
{
    public required FanoutKind Kind { get; init; }

    public byte[]? Raw { get; init; }

    public string? Coalesces { get; init; }

    public JsonObject? Delta { get; init; }

    public double Ts { get; set; }

    /// <summary>A device event: dropped first when a device's queue is full (state must survive, and a resync restores it).</summary>
    public bool IsEvent { get; init; }
}

/// <summary>
/// The outgoing fan-out, per device and in order: status deltas that follow each other merge into one (the latest value of
/// every field wins, as applying them one by one would give), a newer config or info replaces a queued one, and a device's
/// queue holds at most <paramref name="perDevice"/> entries — past that its oldest event is dropped, or, with only state
/// left, the entries give way to one resync (its whole state at the flush). So the queue is bounded by the devices held
/// here, and a slow NATS makes batches larger, never lost: the sender takes everything at once (<see cref="TakeAll"/>).
/// </summary>
internal sealed class FanoutQueue(int perDevice)
{
    private readonly Lock _gate = new();
    private Dictionary<string, List<FanoutItem>> _pending = new(StringComparer.Ordinal);
    private List<string> _order = [];
    private int _count;
    private long _coalesced;
    private long _dropped;

    /// <summary>Entries queued now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Updates merged into (or replaced by) a newer one of the same device before they were sent.</summary>
    public long Coalesced => Interlocked.Read(ref _coalesced);

    /// <summary>Device events dropped because the device's queue was full, or lost with a failed publish.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues an entry; true when the queue was empty (the sender should wake).</summary>
    public bool Add(string device, FanoutItem item)
    {
        lock (_gate)
        {
            if (!_pending.TryGetValue(device, out var items))
            {
                items = [];
                _pending[device] = items;
                _order.Add(device);
            }
            else if (items.Count > 0 && TryCoalesce(items, item))
            {
                Interlocked.Increment(ref _coalesced);
                return false;
            }
            if (items.Count >= Math.Max(2, perDevice))
            {
                var oldestEvent = items.FindIndex(i => i.IsEvent);
                if (oldestEvent >= 0)
                {
                    items.RemoveAt(oldestEvent);
                    _count--;
                    Interlocked.Increment(ref _dropped);
                }
                else
                {
                    // Only state queued (deltas that could not merge, announcements): the state at the flush replaces it all.
                    Interlocked.Add(ref _coalesced, items.Count);
                    _count -= items.Count;
                    items.Clear();
                    item = new FanoutItem { Kind = FanoutKind.Resync };
                }
            }
            items.Add(item);
            return ++_count == 1;
        }
    }

    /// <summary>Counts device events lost with a publish that failed (their devices are resynced).</summary>
    public void CountLost(long events) => Interlocked.Add(ref _dropped, events);

    /// <summary>Everything queued, in the order devices first got an entry; the queue is empty afterwards.</summary>
    public List<(string Device, List<FanoutItem> Items)> TakeAll()
    {
        Dictionary<string, List<FanoutItem>> pending;
        List<string> order;
        lock (_gate)
        {
            if (_count == 0 && _pending.Count == 0)
            {
                return [];
            }
            (pending, order) = (_pending, _order);
            _pending = new(StringComparer.Ordinal);
            _order = [];
            _count = 0;
        }
        var taken = new List<(string, List<FanoutItem>)>(order.Count);
        foreach (var device in order)
        {
            taken.Add((device, pending[device]));
        }
        return taken;
    }

    private static bool TryCoalesce(List<FanoutItem> items, FanoutItem item)
    {
        var last = items[^1];
        switch (item.Kind)
        {
            case FanoutKind.Status when last.Kind == FanoutKind.Status && StatusDelta.TryMerge(last.Delta!, item.Delta!):
                last.Ts = item.Ts;
                return true;
            case FanoutKind.Resync when last.Kind == FanoutKind.Resync:
                return true;
            case FanoutKind.Raw when item.Coalesces is { } kind && last.Kind == FanoutKind.Raw && last.Coalesces == kind:
                items[^1] = item;
                return true;
            default:
                return false;
        }
    }
}

/// <summary>Merging Shelly status deltas (NotifyStatus: objects merge recursively, a value replaces, null removes).</summary>
internal static class StatusDelta
{
    /// <summary>
    /// Merges <paramref name="next"/> into <paramref name="into"/> so that applying the result equals applying both in turn;
    /// false (and <paramref name="into"/> unchanged) when it can't: a key <paramref name="into"/> sets to a value or removes
    /// (null) and <paramref name="next"/> then sets to an object, which applied in turn replaces rather than merges.
    /// </summary>
    public static bool TryMerge(JsonObject into, JsonObject next)
    {
        if (!CanMerge(into, next))
        {
            return false;
        }
        Merge(into, next);
        return true;
    }

    private static bool CanMerge(JsonObject into, JsonObject next)
    {
        foreach (var (key, value) in next)
        {
            if (value is not JsonObject inner || !into.TryGetPropertyValue(key, out var existing))
            {
                continue;
            }
            if (existing is not JsonObject current || !CanMerge(current, inner))
            {
                return false;
            }
        }
        return true;
    }

    private static void Merge(JsonObject into, JsonObject next)
    {
        foreach (var (key, value) in next)
        {
            if (value is JsonObject inner && into[key] is JsonObject current)
            {
                Merge(current, inner);
            }
            else
            {
                into[key] = value?.DeepClone();
            }
        }
    }
}
