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
}
