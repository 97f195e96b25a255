using System.Diagnostics.Metrics;
using FlowFleet.Runtime;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// Gives memory back after a large deploy. Building or replacing tens of thousands of nodes leaves the GC holding what the
/// old nodes and the parse used (1.8 GB after a 100,000-node deploy, measured) until some later full collection that an idle
/// server never triggers. A deploy that starts or replaces at least <see cref="Threshold"/> nodes is followed by one
/// aggressive compacting collection and a native heap trim, off the deploy's thread; deploys that arrive meanwhile are
/// folded into one trim.
/// The trim waits until no large deploy has been seen for <see cref="Delay"/>: while the deploy is still under way its
/// list of stopped nodes, the request's parsed body, the saved file and history hold the old and the parsed set, so a
/// collection at the moment of <c>Deployed</c> found them all live and promoted them to gen 2, where they stayed on an idle
/// server (2.3 GiB after 60,000 nodes were replaced by an empty set, all of it garbage at the next forced collection).
/// The quiet time counts from the last large deploy: deploy.sh's ten back-to-back deploys (0.4 s on a quiet machine) used to
/// restart a whole new wait when the first one ended, so the trim came up to twice the delay after the last deploy — after
/// the script's reading 5 s later (315–320 MiB instead of ~200).
/// </summary>
public sealed partial class DeployTrimmer(TrimLedger ledger, FlowEngine engine, IConfiguration configuration, ILogger<DeployTrimmer> logger, TimeProvider time,
    IMeterFactory? meters = null) : IHostedService
{
    private long _trims;
    private long _requested;
    private IDisposable? _subscription;
    private int _previousNodes;
    private int _running;
    private int _asked;
    private long _lastAsked;

    /// <summary>Trims done since the process started (the <c>flowfleet_memory_trims_total</c> metric).</summary>
    public long Trims => Interlocked.Read(ref _trims);

    /// <summary>Deploys that asked for a trim (decided while the deploy runs).</summary>
    public long Requested => Interlocked.Read(ref _requested);

    /// <summary>Raised after each trim with the number done so far.</summary>
    public Notifier<long> Trimmed { get; } = new(logger);

    /// <summary>Nodes in the new or the replaced flow set from which a deploy is followed by a trim (<c>Flows:TrimAfterDeployNodes</c>).</summary>
    public int Threshold { get; } = configuration.GetValue("Flows:TrimAfterDeployNodes", 1_000);

    /// <summary>Quiet time after the last large deploy before the trim (<c>Flows:TrimDelay</c>, default 3 s), so the deploy has let go of the old set.</summary>
    public TimeSpan Delay { get; } = configuration.GetValue("Flows:TrimDelay", TimeSpan.FromSeconds(3));

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _previousNodes = engine.Current.FlowNodes.Count;
        _subscription = engine.Events.Deployed.Subscribe(_ => OnDeployed());
        meters?.Create(Ops.MetricsSetup.ServerMeter).CreateObservableCounter("flowfleet.memory.trims", () => Trims, description: "Memory given back after large deploys");
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
        Interlocked.Exchange(ref _lastAsked, time.GetTimestamp());
        ledger.DeployTrimPending = true;
        Volatile.Write(ref _asked, 1);
        if (Interlocked.CompareExchange(ref _running, 1, 0) == 0)
        {
            _ = Task.Run(TrimLoopAsync);
        }
    }

    private async Task TrimLoopAsync()
    {
        while (true)
        {
            while (Interlocked.Exchange(ref _asked, 0) == 1)
            {
                // Settle first: until Delay has passed since the last large deploy (one that arrives meanwhile moves that on).
                for (var left = Quiet(); left > TimeSpan.Zero; left = Quiet())
                {
                    await Task.Delay(left, time).ConfigureAwait(false);
                }
                // The deploys seen while waiting are all settled now; one that came in just after the wait asks again.
                Volatile.Write(ref _asked, 0);
                if (Quiet() > TimeSpan.Zero)
                {
                    Volatile.Write(ref _asked, 1);
                    continue;
                }
                var (before, after, rssBefore, rssAfter) = ledger.GiveBack();
                LogTrimmed(before, after, rssBefore, rssAfter);
                Trimmed.Publish(Interlocked.Increment(ref _trims));
            }
            Volatile.Write(ref _running, 0);
            ledger.DeployTrimPending = false;
            // A deploy that asked after the inner loop ended but before the flag cleared would otherwise wait for the next one.
            if (Volatile.Read(ref _asked) == 0 || Interlocked.CompareExchange(ref _running, 1, 0) != 0)
            {
                return;
            }
            ledger.DeployTrimPending = true;
        }
    }

    // How much longer to wait for Delay to have passed since the last large deploy.
    private TimeSpan Quiet() => Delay - time.GetElapsedTime(Interlocked.Read(ref _lastAsked));

    [LoggerMessage(Level = LogLevel.Information, Message = "Large deploy: GC memory trimmed from {Before} MiB to {After} MiB committed, process from {RssBefore} MiB to {RssAfter} MiB resident")]
    private partial void LogTrimmed(long before, long after, long rssBefore, long rssAfter);
}
