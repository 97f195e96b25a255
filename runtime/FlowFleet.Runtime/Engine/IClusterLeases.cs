namespace FlowFleet.Runtime;

/// <summary>
/// Run-once-per-cluster for scheduled nodes (inject repeat/cron, timer): in a cluster several instances run the same flows,
/// and a node that fires on a schedule asks its lease before each tick, so one instance fires it. Without a cluster no
/// service is registered and every tick fires, as in one process.
/// </summary>
public interface IClusterLeases
{
    /// <summary>Starts competing for the lease named <paramref name="key"/> (a node id) until the handle is disposed.</summary>
    IClusterLease Acquire(string key);
}

/// <summary>One lease this instance competes for: disposing it gives the lease up, so another instance takes it at once.</summary>
public interface IClusterLease : IDisposable
{
    /// <summary>True while this instance holds the lease (and its time has not run out by this instance's clock).</summary>
    bool Held { get; }

    /// <summary>Completes when the first attempt to take the lease has ended (held or not): "once after deploy" waits for it.</summary>
    Task FirstAttempt { get; }
}

/// <summary>What scheduled nodes share: the lease they take, unless configured to run on every instance.</summary>
public static class ClusterSchedule
{
    /// <summary>The lease for a scheduled node, or null when it fires everywhere (no cluster, or "run on every instance").</summary>
    public static IClusterLease? LeaseFor(Nodes.INodeHost node, bool everyInstance)
    {
        ArgumentNullException.ThrowIfNull(node);
        return everyInstance || node.Services.GetService(typeof(IClusterLeases)) is not IClusterLeases leases ? null : leases.Acquire(node.Id);
    }
}
