using FlowFleet.Runtime;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// Gives memory back after a large deploy. Building or replacing tens of thousands of nodes leaves the GC holding what the
/// old nodes and the parse used (1.8 GB after a 100,000-node deploy, measured) until some later full collection that an idle
/// server never triggers. A deploy that starts or replaces at least <see cref="Threshold"/> nodes is followed by one
/// aggressive compacting collection and a native heap trim, off the deploy's thread; deploys that arrive meanwhile are
/// folded into one trim.
/// </summary>
public sealed partial class DeployTrimmer(FlowEngine engine, IConfiguration configuration, ILogger<DeployTrimmer> logger) : IHostedService
{
    private long _trims;
    private long _requested;
    private IDisposable? _subscription;
    private int _previousNodes;
    private int _running;
    private int _asked;

    /// <summary>Trims done since the process started (the <c>flowfleet_memory_trims_total</c> metric).</summary>
    public long Trims => Interlocked.Read(ref _trims);

    /// <summary>Deploys that asked for a trim (decided while the deploy runs).</summary>
    public long Requested => Interlocked.Read(ref _requested);

    /// <summary>Raised after each trim with the number done so far.</summary>
    public Notifier<long> Trimmed { get; } = new(logger);

    /// <summary>Nodes in the new or the replaced flow set from which a deploy is followed by a trim (<c>Flows:TrimAfterDeployNodes</c>).</summary>
    public int Threshold { get; } = configuration.GetValue("Flows:TrimAfterDeployNodes", 5_000);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _previousNodes = engine.Current.FlowNodes.Count;
        _subscription = engine.Events.Deployed.Subscribe(_ => OnDeployed());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _subscription?.Dispose();
        return Task.CompletedTask;
    }

    private void OnDeployed()
    {
        var nodes = engine.Current.FlowNodes.Count;
        if (Math.Max(nodes, Interlocked.Exchange(ref _previousNodes, nodes)) < Threshold)
        {
            return;
        }
        Interlocked.Increment(ref _requested);
        Volatile.Write(ref _asked, 1);
        if (Interlocked.CompareExchange(ref _running, 1, 0) == 0)
        {
            _ = Task.Run(TrimLoop);
        }
    }

    private void TrimLoop()
    {
        while (true)
        {
            while (Interlocked.Exchange(ref _asked, 0) == 1)
            {
                var rss = Environment.WorkingSet;
                var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                NativeHeap.Trim();
                LogTrimmed(committed / 1048576, GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576, rss / 1048576, Environment.WorkingSet / 1048576);
                Trimmed.Publish(Interlocked.Increment(ref _trims));
            }
            Volatile.Write(ref _running, 0);
            // A deploy that asked after the inner loop ended but before the flag cleared would otherwise wait for the next one.
            if (Volatile.Read(ref _asked) == 0 || Interlocked.CompareExchange(ref _running, 1, 0) != 0)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Large deploy: GC memory trimmed from {Before} MiB to {After} MiB committed, process from {RssBefore} MiB to {RssAfter} MiB resident")]
    private partial void LogTrimmed(long before, long after, long rssBefore, long rssAfter);
}
