using FlowFleet.Fleet.Hub;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// Gives memory back after a connect storm. Thousands of devices connecting at once (a restart, a network coming back)
/// leave the GC with a heap it grew for the storm and keeps committed: at 19,000 devices ~600 MiB against ~250 MiB live.
/// Once the device count has held steady for <see cref="SteadyFor"/> and the GC holds much more than is live, or the count
/// has moved since the last trim, one aggressive collection (a pause of a few hundred milliseconds) returns the difference
/// and the C library's heap gives back what it keeps free (<see cref="NativeHeap"/>); at most every ten minutes.
/// </summary>
public sealed partial class MemoryTrimmer(TrimLedger ledger, DeviceHub hub, ILogger<MemoryTrimmer> logger) : BackgroundService
{
    public static readonly TimeSpan SteadyFor = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(5);
    private static readonly int Window = (int)(SteadyFor / Every);
    private static readonly TimeSpan AtMostEvery = TimeSpan.FromMinutes(10);

    /// <summary>
    /// True when the connection counts seen over the last <see cref="SteadyFor"/> moved less than 5 % (battery devices come
    /// and go all the time) and either the GC keeps more than 64 MiB committed beyond what is live or the count differs by
    /// more than 5 % from the one at the last trim (<paramref name="lastTrimmedAt"/>; the native heap grows with storms too).
    /// </summary>
    public static bool ShouldTrim(IReadOnlyList<int> recentConnections, long committedBytes, long heapBytes, int lastTrimmedAt = 0)
    {
        if (recentConnections.Count < Window || recentConnections[^1] == 0)
        {
            return false;
        }
        var (min, max) = (recentConnections.Min(), recentConnections.Max());
        return max - min <= max / 20
            && (committedBytes - heapBytes > 64L * 1024 * 1024 || Math.Abs(recentConnections[^1] - lastTrimmedAt) > max / 20);
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
        var recent = new Queue<int>();
        var lastTrim = DateTime.MinValue;
        var lastTrimmedAt = 0;
        using var timer = new PeriodicTimer(Every);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                recent.Enqueue(hub.ConnectionCount);
                if (recent.Count > Window)
                {
                    recent.Dequeue();
                }
                var info = GC.GetGCMemoryInfo();
                if (DateTime.UtcNow - lastTrim < AtMostEvery || !ShouldTrim([.. recent], info.TotalCommittedBytes, info.HeapSizeBytes, lastTrimmedAt))
                {
                    continue;
                }
                lastTrim = DateTime.UtcNow;
                lastTrimmedAt = recent.Last();
                var (before, after, rssBefore, rssAfter) = ledger.GiveBack();
                LogTrimmed(recent.Peek(), before, after, rssBefore, rssAfter);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Device count steady at {Devices}: GC memory trimmed from {Before} MiB to {After} MiB committed, process from {RssBefore} MiB to {RssAfter} MiB resident")]
    private partial void LogTrimmed(int devices, long before, long after, long rssBefore, long rssAfter);
}
