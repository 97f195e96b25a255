using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;
using NATS.Client.Core;

namespace FlowFleet.Fleet.Cluster;

/// <summary>
/// Knowing what was missed. Every batch of an owner carries its <c>run</c> (one per process start) and <c>seq</c> (1, 2, …
/// within the run), and its beats carry the last <c>seq</c> NATS took. A receiver asks the owner on
/// <c>{subject}.resync.{owner}</c> to resend every device it holds when batches it should have are missing:
/// <list type="bullet">
/// <item>the first batch heard of a run is not batch 1 — an instance that just joined, or whose first batches NATS dropped
/// (a joining instance's hello makes the owners announce anyway; the owner then sees that and does not resend twice);</item>
/// <item>a gap between two batches;</item>
/// <item>a beat says batches were sent that have still not arrived by the next beat (the tail of a quiet owner's batches);</item>
/// <item>the owner is heard again after being declared gone for silence (its devices were forgotten here).</item>
/// </list>
/// The request says from which batch on the asker has everything (<c>after</c>): an owner that queued a whole announcement
/// since then does not queue another, so several instances asking about the same loss cost one resend. An asker asks one
/// owner at most every <see cref="ResyncPause"/>; what it needs meanwhile is asked at the next beat after the pause.
/// </summary>
public sealed partial class NatsCluster
{
    private static readonly TimeSpan ResyncPause = TimeSpan.FromSeconds(10);

    // A process restarted under the same name counts its batches from 1 again: receivers tell the runs apart by this.
    private readonly string _run = Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentDictionary<string, Feed> _feeds = new(StringComparer.Ordinal);
    // _seq when the last whole announcement (every device held here) was queued: its items go out in later batches.
    private long _announcedAt = -1;
    private long _resyncsAsked;
    private long _resyncsServed;
    // The device subscription's queue: unread batches may hold what a beat says is missing.
    private System.Threading.Channels.ChannelReader<NatsMsg<byte[]>>? _deviceQueue;

    /// <summary>Resend requests other instances sent this one, and those it served (each queues every device held here).</summary>
    public (long Asked, long Served) Resyncs => (Interlocked.Read(ref _resyncsAsked), Interlocked.Read(ref _resyncsServed));

    /// <summary>The batch number after which the last whole announcement goes out (tests ask resends relative to it).</summary>
    internal long AnnouncedAt => Interlocked.Read(ref _announcedAt);

    /// <summary>What this instance heard of one owner's batches (guarded by its own lock).</summary>
    private sealed class Feed
    {
        public string? Run;
        public long Last;     // highest seq received in Run (0: none yet)
        public long Beaten;   // the seq the owner's previous beat in Run said it had sent
        public long Pending;  // an unsent request: the asker has everything from this seq on (0: none)
        public long AskedAt = long.MinValue / 2;

        public void Start(string run)
        {
            if (Run != run)
            {
                (Run, Last, Beaten) = (run, 0, 0);
            }
        }
    }

    private Feed FeedOf(string instance) => _feeds.GetOrAdd(instance, static _ => new Feed());

    private void CheckSequence(string instance, string run, long seq)
    {
        var feed = FeedOf(instance);
        long lost = 0, after = 0;
        lock (feed)
        {
            feed.Start(run);
            if (seq > feed.Last + 1)
            {
                // Before the first batch heard of a run nothing counts as lost (an instance joining misses those by design).
                lost = feed.Last > 0 ? seq - feed.Last - 1 : 0;
                after = seq;
            }
            feed.Last = Math.Max(feed.Last, seq);
        }
        if (after == 0)
        {
            return;
        }
        if (lost > 0)
        {
            Interlocked.Add(ref _lostBatches, lost);
            LogBatchesLost(lost, instance);
        }
        AskResync(instance, after);
    }

    /// <summary>A beat of <paramref name="instance"/> saying the last batch it sent is <paramref name="seq"/>.</summary>
    private void CheckBeat(string instance, string run, long seq)
    {
        var feed = FeedOf(instance);
        long missing = 0, lost = 0;
        lock (feed)
        {
            feed.Start(run);
            // A beat may overtake batches still on their way or unread here: only what the previous beat claimed counts,
            // and only when no batch waits to be read.
            if (feed.Beaten > feed.Last && _deviceQueue is not { CanCount: true, Count: > 0 })
            {
                missing = feed.Beaten;
                lost = feed.Last > 0 ? feed.Beaten - feed.Last : 0;
                feed.Last = feed.Beaten;
            }
            feed.Beaten = seq;
        }
        if (missing == 0)
        {
            return;
        }
        if (lost > 0)
        {
            Interlocked.Add(ref _lostBatches, lost);
            LogBatchesLost(lost, instance);
        }
        AskResync(instance, missing + 1);
    }

    /// <summary>
    /// Asks <paramref name="instance"/> to resend every device it holds; this instance has its batches from
    /// <paramref name="after"/> on. Within <see cref="ResyncPause"/> of the last request the need waits for <see cref="RetryResyncs"/>.
    /// </summary>
    private void AskResync(string instance, long after)
    {
        var feed = FeedOf(instance);
        lock (feed)
        {
            feed.Pending = Math.Max(feed.Pending, after);
        }
        SendResync(instance, feed);
    }

    /// <summary>Requests held back by the pause go out once it is over (the beat loop calls this).</summary>
    private void RetryResyncs()
    {
        foreach (var (instance, feed) in _feeds)
        {
            SendResync(instance, feed);
        }
    }

    private void SendResync(string instance, Feed feed)
    {
        long after;
        var now = Environment.TickCount64;
        lock (feed)
        {
            if (feed.Pending == 0 || now - feed.AskedAt < ResyncPause.TotalMilliseconds || _nats is null)
            {
                return;
            }
            (after, feed.Pending, feed.AskedAt) = (feed.Pending, 0, now);
        }
        var request = new JsonObject { ["instance"] = Instance, ["after"] = after }.ToJsonString();
        _ = PublishQuietlyAsync(_nats, Subject("resync." + instance), request);
    }

    private async Task PublishQuietlyAsync(NatsConnection nats, string subject, string data)
    {
        try
        {
            await nats.PublishAsync(subject, data).ConfigureAwait(false);
        }
        catch (NatsException ex)
        {
            LogPublishFailed(ex.Message);
        }
    }

    /// <summary>
    /// Another instance misses batches of ours before <c>after</c>: everything held here is queued as a resync, unless a
    /// whole announcement was queued since the batch before <c>after</c> (its items reach the asker in later batches).
    /// </summary>
    private void OnResync(NatsMsg<string> m)
    {
        var request = m.Data is { Length: > 0 } d && d[0] == '{' ? JsonNode.Parse(d) as JsonObject : null;
        var asker = JsonRead.Text(request?["instance"]) ?? m.Data ?? "?";
        var after = JsonRead.Number(request?["after"]) is { } a ? (long)a : long.MaxValue;
        Interlocked.Increment(ref _resyncsAsked);
        if (Interlocked.Read(ref _announcedAt) >= after - 1)
        {
            return;
        }
        Interlocked.Increment(ref _resyncsServed);
        LogResync(asker);
        AnnounceAll();
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Cluster: {Count} fan-out batches of instance {Instance} did not arrive; asked it to resend its devices")]
    private partial void LogBatchesLost(long count, string instance);

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "Cluster: instance {Instance} missed updates; resending every device held here")]
    private partial void LogResync(string instance);
}
