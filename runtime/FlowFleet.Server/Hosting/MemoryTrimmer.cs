using FlowFleet.Fleet.Hub;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// Gives memory back after a connect storm. Thousands of devices connecting at once (a restart, a network coming back)
/// leave the GC with a heap it grew for the storm and keeps committed: at 19,000 devices ~600 MiB against ~250 MiB live.
/// Once the device count has held steady for <see cref="SteadyFor"/> and the GC holds much more than is live, one
/// aggressive collection (a pause of a few hundred milliseconds) returns the difference; at most every ten minutes.
/// </summary>
public sealed partial class MemoryTrimmer(DeviceHub hub, ILogger<MemoryTrimmer> logger) : BackgroundService
{
    public static readonly TimeSpan SteadyFor = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(5);
    private static readonly int Window = (int)(SteadyFor / Every);
    private static readonly TimeSpan AtMostEvery = TimeSpan.FromMinutes(10);

    /// <summary>
    /// True when the connection counts seen over the last <see cref="SteadyFor"/> moved less than 5 % (battery devices come
    /// and go all the time) and the GC keeps more than 64 MiB committed beyond what is live.
    /// </summary>
    public static bool ShouldTrim(IReadOnlyList<int> recentConnections, long committedBytes, long heapBytes)
    {
        if (recentConnections.Count < Window || recentConnections[^1] == 0)
        {
            return false;
        }
        var (min, max) = (recentConnections.Min(), recentConnections.Max());
        return max - min <= max / 20 && committedBytes - heapBytes > 64L * 1024 * 1024;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var recent = new Queue<int>();
        var lastTrim = DateTime.MinValue;
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
                if (DateTime.UtcNow - lastTrim < AtMostEvery || !ShouldTrim([.. recent], info.TotalCommittedBytes, info.HeapSizeBytes))
                {
                    continue;
                }
                lastTrim = DateTime.UtcNow;
                var committed = info.TotalCommittedBytes;
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                LogTrimmed(recent.Peek(), committed / 1048576, GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Device count steady at {Devices}: GC memory trimmed from {Before} MiB to {After} MiB committed")]
    private partial void LogTrimmed(int devices, long before, long after);
}
