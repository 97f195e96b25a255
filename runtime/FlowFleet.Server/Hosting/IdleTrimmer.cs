using System.Diagnostics.Metrics;
using FlowFleet.Runtime;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// Gives memory back when the process goes idle after a burst of allocation. A burst of messages (bench/server/throughput.sh:
/// 2.6 GB allocated in three rounds) leaves the GC with ~190 MiB committed against ~25 MiB live; an idle process collects
/// nothing more, so that stays resident for good (RSS 360–380 MiB, and still so 5 s later). Every <see cref="Every"/> the
/// trimmer reads how much the process allocated: once at least <see cref="BurstBytes"/> were allocated since the last trim
/// and a whole interval then allocates less than <see cref="IdleBytes"/>, it does what <see cref="DeployTrimmer"/> does
/// (one aggressive compacting collection and a native heap trim), at most once per <see cref="AtMostEvery"/>; both count
/// from the last trim by any trimmer (<see cref="TrimLedger"/>), and a large deploy is left to the deploy trimmer. A process
/// that is never idle (a busy fleet) is never trimmed here: the pause would land in its traffic (<see cref="MemoryTrimmer"/>
/// handles connect storms).
/// </summary>
public sealed partial class IdleTrimmer(TrimLedger ledger, IConfiguration configuration, ILogger<IdleTrimmer> logger, TimeProvider time, IMeterFactory? meters = null,
    Func<long>? allocatedBytes = null) : BackgroundService
{
    private readonly Func<long> _allocated = allocatedBytes ?? (() => GC.GetTotalAllocatedBytes(precise: false));
    private long _trims;
    private long _sinceTrim;
    private long _lastSample = -1;
    private long _lastTrim = long.MinValue;
    private long _seenTrims;

    /// <summary>How often allocation is sampled: the idle interval too.</summary>
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(1);

    /// <summary>Allocation per interval under which the process counts as idle: an idle server allocates ~0.05 MiB a second.</summary>
    public const long IdleBytes = 1024 * 1024;

    /// <summary>Allocated bytes since the last trim that make a burst (<c>Memory:IdleTrimAfterMiB</c>, default 256; 0 turns the trimmer off).</summary>
    public long BurstBytes { get; } = configuration.GetValue("Memory:IdleTrimAfterMiB", 256L) * 1024 * 1024;

    /// <summary>Least time between two trims, so a server whose load comes and goes does not pause for each lull.</summary>
    public TimeSpan AtMostEvery { get; } = configuration.GetValue("Memory:IdleTrimAtMostEvery", TimeSpan.FromSeconds(30));

    /// <summary>Trims done since the process started (the <c>flowfleet_memory_idle_trims_total</c> metric).</summary>
    public long Trims => Interlocked.Read(ref _trims);

    /// <summary>Raised after each sample, with true when it trimmed.</summary>
    public Notifier<bool> Sampled { get; } = new(logger);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        meters?.Create(Ops.MetricsSetup.ServerMeter).CreateObservableCounter("flowfleet.memory.idle_trims", () => Trims,
            description: "Memory given back when the process went idle after a burst of allocation");
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (BurstBytes <= 0)
        {
            return;
        }
        using var timer = new PeriodicTimer(Every, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Sampled.Publish(Sample());
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One sample: true when it found a burst followed by an idle interval and trimmed.</summary>
    internal bool Sample()
    {
        var allocated = _allocated();
        var interval = _lastSample < 0 ? 0 : allocated - _lastSample;
        _lastSample = allocated;
        _sinceTrim += interval;
        var now = time.GetTimestamp();
        var trims = ledger.Trims;
        if (trims != _seenTrims)
        {
            // Another trimmer gave memory back since the last sample: the burst and the least time between trims count from it.
            (_seenTrims, _sinceTrim, _lastTrim) = (trims, 0, now);
            return false;
        }
        // A large deploy's garbage is the deploy trimmer's: it trims once its deploys have let go of the old set.
        if (ledger.DeployTrimPending || interval >= IdleBytes || _sinceTrim < BurstBytes
            || (_lastTrim != long.MinValue && time.GetElapsedTime(_lastTrim, now) < AtMostEvery))
        {
            return false;
        }
        if (ledger.GiveBackUnlessTrimmedSince(trims) is not { } trimmed)
        {
            return false;
        }
        var (before, after, rssBefore, rssAfter) = trimmed;
        (_seenTrims, _sinceTrim, _lastTrim) = (trims + 1, 0, now);
        Interlocked.Increment(ref _trims);
        LogTrimmed(before, after, rssBefore, rssAfter);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Idle after a burst: GC memory trimmed from {Before} MiB to {After} MiB committed, process from {RssBefore} MiB to {RssAfter} MiB resident")]
    private partial void LogTrimmed(long before, long after, long rssBefore, long rssAfter);
}
