using System.Net;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// Connections accepted and still sending their first request head (see <see cref="DeviceListener"/>), oldest first. One
/// address may hold only so many that have been waiting longer than a short grace: beyond that a new connection from it
/// closes its oldest stale one. Silent or slowloris connections thus can't lock out a new one from the same address — the
/// operator's own browser on the attacker's network included — while a connect storm of real devices (fresh connections, all
/// sending at once) is never thinned out.
/// </summary>
internal sealed class UnsortedConnections(int perAddress, TimeSpan grace)
{
    private readonly Lock _gate = new();
    // Per address, oldest first: finding the one to evict is O(1).
    private readonly Dictionary<IPAddress, LinkedList<Entry>> _byAddress = [];
    private readonly long _graceMs = (long)grace.TotalMilliseconds;
    private int _count;

    internal sealed class Entry(IPAddress? address) : IDisposable
    {
        public IPAddress? Address { get; } = address;

        public long Since { get; } = Environment.TickCount64;

        /// <summary>Cancelled at the head deadline or when evicted.</summary>
        public CancellationTokenSource Cancel { get; } = new();

        internal LinkedListNode<Entry>? Node { get; set; }

        public bool Evicted { get; set; }

        public void Dispose() => Cancel.Dispose();
    }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Registers a new connection; may evict the oldest stale connection of the same address.</summary>
    public Entry Add(IPAddress? address)
    {
        var entry = new Entry(address);
        Entry? evicted = null;
        lock (_gate)
        {
            _count++;
            if (address is null)
            {
                return entry;
            }
            if (!_byAddress.TryGetValue(address, out var list))
            {
                _byAddress[address] = list = new LinkedList<Entry>();
            }
            if (list.Count >= perAddress && list.First!.Value is var oldest && entry.Since - oldest.Since >= _graceMs)
            {
                RemoveLocked(oldest);
                oldest.Evicted = true;
                evicted = oldest;
            }
            entry.Node = list.AddLast(entry);
        }
        if (evicted is not null)
        {
            try
            {
                evicted.Cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // It finished sorting meanwhile.
            }
        }
        return entry;
    }

    public void Remove(Entry entry)
    {
        lock (_gate)
        {
            if (entry.Node is not null)
            {
                RemoveLocked(entry);
            }
            else if (entry.Address is null && !entry.Evicted)
            {
                _count--;
            }
        }
    }

    private void RemoveLocked(Entry entry)
    {
        _count--;
        var list = entry.Node!.List!;
        list.Remove(entry.Node);
        entry.Node = null;
        if (list.Count == 0)
        {
            _byAddress.Remove(entry.Address!);
        }
    }
}
