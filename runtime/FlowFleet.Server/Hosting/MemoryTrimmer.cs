using FlowFleet.Fleet.Hub;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// Gives memory back after a connect storm. Thousands of devices connecting at once (a restart, a network coming back)
/// leave the GC with a heap it grew for the storm and keeps committed: at 19,000 devices ~600 MiB against ~250 MiB live.
/// Once the device count has held steady for <see cref="SteadyFor"/> and the GC holds much more than is live, or the count
/// has moved since the last trim, one aggressive collection (a pause of a few hundred milliseconds) returns the difference
/// and the C library's heap gives back what it keeps free (<see cref="NativeHeap"/>); at most every ten minutes — with one
/// exception: the count can hold still while the storm's tail (identity reads, refused devices retrying) is still live, and
/// what the tail leaves in gen 2 then stays there until a full collection (bench/README.md, fleet: 152 → 300 MiB of heap in
/// the 20 s after such a trim). So once per ten minutes a second trim follows when the count is still steady and gen 2 has
/// grown by more than <see cref="GrowthAfterTrim"/> since the trim.
/// </summary>
public sealed partial class MemoryTrimmer : BackgroundService
{
    public static readonly TimeSpan SteadyFor = TimeSpan.FromSeconds(30);

    /// <summary>How often the connection count and the GC are sampled.</summary>
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(5);
    private static readonly int Window = (int)(SteadyFor / Every);
    private static readonly TimeSpan AtMostEvery = TimeSpan.FromMinutes(10);

    /// <summary>Growth of gen 2 since the last trim that makes a steady fleet's second trim worth its pause.</summary>
    public const long GrowthAfterTrim = 64L * 1024 * 1024;

    private readonly TrimLedger _ledger;
    private readonly Func<Reading> _read;
    private readonly ILogger<MemoryTrimmer> _logger;
    private readonly TimeProvider _time;
    private readonly Queue<int> _recent = new();
    private long _lastTrim = long.MinValue;
    private int _lastTrimmedAt;
    private long _gen2AtTrim;
    private bool _followedUp;

    /// <summary>What a sample reads: devices connected, the GC's committed bytes, its heap and its gen 2 after the last collection.</summary>
    public readonly record struct Reading(int Connections, long CommittedBytes, long HeapBytes, long Gen2Bytes);

    public MemoryTrimmer(TrimLedger ledger, DeviceHub hub, ILogger<MemoryTrimmer> logger, TimeProvider time)
        : this(ledger, () => Read(hub.ConnectionCount), logger, time)
    {
    }

    internal MemoryTrimmer(TrimLedger ledger, Func<Reading> read, ILogger<MemoryTrimmer> logger, TimeProvider time)
    {
        _ledger = ledger;
        _read = read;
        _logger = logger;
        _time = time;
        Sampled = new(logger);
    }

    /// <summary>Raised after each sample, with true when it trimmed.</summary>
    public Runtime.Notifier<bool> Sampled { get; }

    private static Reading Read(int connections)
    {
        var info = GC.GetGCMemoryInfo();
        return new(connections, info.TotalCommittedBytes, info.HeapSizeBytes, info.GenerationInfo[2].SizeAfterBytes);
    }

    /// <summary>
    /// True when the connection counts seen over the last <see cref="SteadyFor"/> moved less than 5 % (battery devices come
    /// and go all the time) and either the GC keeps more than 64 MiB committed beyond what is live or the count differs by
    /// more than 5 % from the one at the last trim (<paramref name="lastTrimmedAt"/>; the native heap grows with storms too).
    /// </summary>
    public static bool ShouldTrim(IReadOnlyList<int> recentConnections, long committedBytes, long heapBytes, int lastTrimmedAt = 0) =>
        Steady(recentConnections)
        && (committedBytes - heapBytes > 64L * 1024 * 1024 || Math.Abs(recentConnections[^1] - lastTrimmedAt) > recentConnections.Max() / 20);

    /// <summary>Devices are connected and their count moved less than 5 % over the last <see cref="SteadyFor"/>.</summary>
    private static bool Steady(IReadOnlyList<int> recentConnections)
    {
        if (recentConnections.Count < Window || recentConnections[^1] == 0)
        {
            return false;
        }
        var (min, max) = (recentConnections.Min(), recentConnections.Max());
        return max - min <= max / 20;
    }

    /// <summary>
    /// One aggressive compacting collection (it returns what the GC keeps committed) and a native heap trim; the GC's committed
    /// and the process's resident memory before and after, in MiB, for the log. The trimmers call it through <see cref="TrimLedger"/>.
    /// </summary>
    internal static (long Before, long After, long RssBefore, long RssAfter) GiveBack()
    {
        var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var rss = Environment.WorkingSet;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        // Idle pooled SQLite connections keep their page caches (up to 2 MiB each: users, registry, history, contexts) in
        // the C heap; closing them lets the heap trim return it. Connections in use are closed when they come back.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        NativeHeap.Trim();
        return (committed / 1048576, GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576, rss / 1048576, Environment.WorkingSet / 1048576);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Every, _time);
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

    /// <summary>One sample: true when it trimmed.</summary>
    internal bool Sample()
    {
        var reading = _read();
        _recent.Enqueue(reading.Connections);
        if (_recent.Count > Window)
        {
            _recent.Dequeue();
        }
        var now = _time.GetTimestamp();
        var since = _lastTrim == long.MinValue ? TimeSpan.MaxValue : _time.GetElapsedTime(_lastTrim, now);
        int[] recent = [.. _recent];
        bool trim;
        var followUp = false;
        if (since >= AtMostEvery)
        {
            trim = ShouldTrim(recent, reading.CommittedBytes, reading.HeapBytes, _lastTrimmedAt);
        }
        else
        {
            // The one follow-up of this window: still steady, and gen 2 grew by much since the trim.
            followUp = trim = !_followedUp && since >= SteadyFor && Steady(recent) && reading.Gen2Bytes - _gen2AtTrim > GrowthAfterTrim;
        }
        if (!trim)
        {
            return false;
        }
        _lastTrim = now;
        _lastTrimmedAt = reading.Connections;
        _followedUp = followUp;
        var (before, after, rssBefore, rssAfter) = _ledger.GiveBack();
        _gen2AtTrim = _read().Gen2Bytes;
        if (followUp)
        {
            LogTrimmedAgain(reading.Connections, before, after, rssBefore, rssAfter);
        }
        else
        {
            LogTrimmed(reading.Connections, before, after, rssBefore, rssAfter);
        }
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Device count steady at {Devices}: GC memory trimmed from {Before} MiB to {After} MiB committed, process from {RssBefore} MiB to {RssAfter} MiB resident")]
    private partial void LogTrimmed(int devices, long before, long after, long rssBefore, long rssAfter);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device count still steady at {Devices} and gen 2 grown since the last trim: GC memory trimmed again from {Before} MiB to {After} MiB committed, process from {RssBefore} MiB to {RssAfter} MiB resident")]
    private partial void LogTrimmedAgain(int devices, long before, long after, long rssBefore, long rssAfter);
}
