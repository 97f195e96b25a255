namespace FlowFleet.Fleet.Cluster;

/// <summary>Cluster mode (<c>Cluster:Nats</c>): off unless a NATS URL is configured.</summary>
public sealed class ClusterOptions
{
    /// <summary>The NATS server, e.g. <c>nats://127.0.0.1:4222</c>.</summary>
    public string? Nats { get; set; }

    /// <summary>This instance's name in the cluster (unique per process); a random one when not set.</summary>
    public string? Instance { get; set; }

    /// <summary>The first token of every subject, so several clusters can share one NATS server.</summary>
    public string Subject { get; set; } = "flowfleet";

    /// <summary>
    /// How often an instance says it is alive (<c>{subject}.beat</c>). An instance not heard of for three of these is gone:
    /// it leaves the members list and the devices it held show offline until they reconnect elsewhere.
    /// </summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the fan-out gathers device updates before it sends them (status deltas of one device within it merge into
    /// one, the latest value winning); batches then carry many devices each. Zero sends as soon as the sender is free.
    /// </summary>
    public TimeSpan FanoutWindow { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A fan-out batch is closed once it holds this many bytes (NATS's default max_payload is 1 MiB).</summary>
    public int FanoutBatchBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Entries one device may have queued (events and deltas that could not merge); past it its oldest event is dropped, or
    /// its state is sent whole at the next flush. Counted in <c>flowfleet.cluster.fanout.dropped</c> / <c>.coalesced</c>.
    /// </summary>
    public int FanoutDeviceQueue { get; set; } = 64;
}
