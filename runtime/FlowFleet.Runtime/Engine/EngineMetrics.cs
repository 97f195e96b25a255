using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace FlowFleet.Runtime.Engine;

/// <summary>
/// Counters per node type, published as the <see cref="MeterName"/> meter. Nodes bump plain fields with
/// <see cref="Interlocked"/> on every message; the instruments are observable, so a scrape reads the fields and the hot path
/// never goes through a meter listener.
/// </summary>
public sealed class EngineMetrics
{
    /// <summary>The meter the engine's instruments belong to (<c>flowfleet_messages_in_total</c>, <c>flowfleet_nodes</c>, …).</summary>
    public const string MeterName = "FlowFleet.Engine";

    private readonly ConcurrentDictionary<string, Counters> _byType = new(StringComparer.Ordinal);
    private readonly long[] _deploys = new long[Enum.GetValues<DeployType>().Length];

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

    /// <summary>Deploys done, by type.</summary>
    public long Deploys(DeployType type) => Interlocked.Read(ref _deploys[(int)type]);

    internal Counters For(string type) => _byType.GetOrAdd(type, static _ => new Counters());

    internal static void CountIn(Counters c) => Interlocked.Increment(ref c._in);

    internal static void CountOut(Counters c, int n) => Interlocked.Add(ref c._out, n);

    internal void CountError(string type) => Interlocked.Increment(ref For(type)._errors);

    internal void CountQueueFull(string type) => Interlocked.Increment(ref For(type)._queueFull);

    internal void CountDropped(string type) => Interlocked.Increment(ref For(type)._dropped);

    internal void CountDeploy(DeployType type) => Interlocked.Increment(ref _deploys[(int)type]);

    /// <summary>Creates the engine's instruments on a meter from <paramref name="meters"/> (the host's factory, so each host
    /// exports its own engine); without a factory (a bare engine in a test or tool) nothing is published.</summary>
    internal void Publish(IMeterFactory? meters, FlowEngine engine)
    {
        if (meters is null)
        {
            return;
        }
        var meter = meters.Create(MeterName);
        meter.CreateObservableCounter("flowfleet.messages.in", () => PerType(c => c.In), description: "Messages handled, per node type");
        meter.CreateObservableCounter("flowfleet.messages.out", () => PerType(c => c.Out), description: "Messages sent, per node type");
        meter.CreateObservableCounter("flowfleet.node.errors", () => PerType(c => c.Errors), description: "Node errors, per node type");
        meter.CreateObservableCounter("flowfleet.queue.full", () => PerType(c => c.QueueFull), description: "Times a sender waited for a full queue, per node type");
        meter.CreateObservableCounter("flowfleet.messages.dropped", () => PerType(c => c.Dropped), description: "Messages dropped because a node's queue stayed full, per node type");
        meter.CreateObservableCounter("flowfleet.deploys", () => Enum.GetValues<DeployType>().Select(t =>
            new Measurement<long>(Deploys(t), new KeyValuePair<string, object?>("type", t.ToString().ToLowerInvariant()))), description: "Deploys, per deploy type");
        meter.CreateObservableGauge("flowfleet.queue.depth", () => engine.Running.ToArray().GroupBy(n => n.Type, StringComparer.Ordinal)
            .Select(g => new Measurement<long>(g.Sum(n => (long)n.QueueDepth), new KeyValuePair<string, object?>("type", g.Key))), description: "Messages waiting, per node type");
        meter.CreateObservableGauge("flowfleet.nodes", () => engine.Running.Count(), description: "Running nodes");
        meter.CreateObservableGauge("flowfleet.flows.started", () => engine.Started ? 1 : 0, description: "1 when flows run");
    }

    private IEnumerable<Measurement<long>> PerType(Func<Counters, long> read) =>
        _byType.Select(kv => new Measurement<long>(read(kv.Value), new KeyValuePair<string, object?>("type", kv.Key)));
}
