using System.Collections.Concurrent;

namespace FlowFleet.Runtime.Engine;

/// <summary>Counters per node type, read by <c>/metrics</c>.</summary>
public sealed class EngineMetrics
{
    private readonly ConcurrentDictionary<string, Counters> _byType = new(StringComparer.Ordinal);

    public sealed class Counters
    {
        internal long _in;
        internal long _out;
        internal long _errors;
        internal long _queueFull;
        internal long _dropped;

        public long In => Interlocked.Read(ref _in);

        public long Out => Interlocked.Read(ref _out);

        public long Errors => Interlocked.Read(ref _errors);

        public long QueueFull => Interlocked.Read(ref _queueFull);

        /// <summary>Messages dropped because the node's queue stayed full.</summary>
        public long Dropped => Interlocked.Read(ref _dropped);
    }

    public IReadOnlyDictionary<string, Counters> ByType => _byType;

    internal Counters For(string type) => _byType.GetOrAdd(type, static _ => new Counters());

    internal static void CountIn(Counters c) => Interlocked.Increment(ref c._in);

    internal static void CountOut(Counters c, int n) => Interlocked.Add(ref c._out, n);

    internal void CountError(string type) => Interlocked.Increment(ref For(type)._errors);

    internal void CountQueueFull(string type) => Interlocked.Increment(ref For(type)._queueFull);

    internal void CountDropped(string type) => Interlocked.Increment(ref For(type)._dropped);
}
