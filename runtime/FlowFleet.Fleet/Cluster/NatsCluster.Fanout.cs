using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;
using NATS.Client.Core;

namespace FlowFleet.Fleet.Cluster;

/// <summary>
/// The sending side of the device fan-out. Hub handlers only queue (<see cref="FanoutQueue"/>: per device, deltas merged);
/// one sender takes the queue every <see cref="ClusterOptions.FanoutWindow"/> and publishes it as batches
/// <c>{instance, seq, items:[…]}</c> of up to <see cref="ClusterOptions.FanoutBatchBytes"/>, one at a time, so NATS's write
/// buffer is never flooded by thousands of concurrent publishes (the cause of the publish timeouts at 50,000 devices):
/// while a publish waits, updates pile up in the queue and merge. A failed publish resyncs its devices (their whole state
/// at the next flush). Receivers check each batch's <c>run</c> and <c>seq</c> (NatsCluster.Sequence.cs).
/// </summary>
public sealed partial class NatsCluster
{
    private FanoutQueue? _queue;
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly System.Threading.Channels.Channel<bool> _wake = System.Threading.Channels.Channel.CreateBounded<bool>(
        new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite });
    private long _seq;
    // The number of the last batch NATS took (beats carry it, so a receiver that missed the tail of our batches learns so).
    private long _sent;
    private long _batches;
    private long _publishFailures;
    private long _lostBatches;
    private TaskCompletionSource? _hold;

    private FanoutQueue Queue => _queue ??= new FanoutQueue(_options.FanoutDeviceQueue);

    /// <summary>Fan-out figures: batches sent, updates merged before sending, events dropped, failed publishes, batches of others missed.</summary>
    public (long Batches, long Coalesced, long Dropped, long Failures, long Lost, int Queued) Fanout =>
        (Interlocked.Read(ref _batches), Queue.Coalesced, Queue.Dropped, Interlocked.Read(ref _publishFailures), Interlocked.Read(ref _lostBatches), Queue.Count);

    /// <summary>Holds the sender (nothing is published) until the handle is disposed; tests use it to fill one batch.</summary>
    internal IDisposable HoldFanout()
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hold = hold;
        return new Release(() =>
        {
            _hold = null;
            hold.TrySetResult();
        });
    }

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }

    private void Enqueue(string device, FanoutItem item)
    {
        if (Queue.Add(device, item))
        {
            _wake.Writer.TryWrite(true);
        }
    }

    private void EnqueueResync(string device) => Enqueue(device, new FanoutItem { Kind = FanoutKind.Resync });

    private async Task FanoutLoopAsync(CancellationToken ct)
    {
        while (await _wake.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
        {
            _wake.Reader.TryRead(out _);
            if (_options.FanoutWindow > TimeSpan.Zero)
            {
                await Task.Delay(_options.FanoutWindow, ct).ConfigureAwait(false);
            }
            if (_hold is { } hold)
            {
                await hold.Task.WaitAsync(ct).ConfigureAwait(false);
            }
            if (!await FlushAsync(ct).ConfigureAwait(false))
            {
                // NATS refused (disconnected, timed out): the devices are queued for a resync; give it a moment.
                await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
                _wake.Writer.TryWrite(true);
            }
        }
    }

    /// <summary>Publishes everything queued, in batches; false when a publish failed (its devices are resynced).</summary>
    private async Task<bool> FlushAsync(CancellationToken ct)
    {
        if (_nats is not { } nats)
        {
            return true;
        }
        await _flushing.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var taken = Queue.TakeAll();
            var ok = true;
            var buffer = new ArrayBufferWriter<byte>(Math.Min(_options.FanoutBatchBytes, 1 << 20) + 4096);
            var devices = new List<string>();
            var events = 0L;
            var count = 0;
            for (var i = 0; i < taken.Count; i++)
            {
                var (device, items) = taken[i];
                if (!ok)
                {
                    // A publish failed: the rest of this flush waits as resyncs (their whole state is sent next time).
                    events += items.Count(x => x.IsEvent);
                    EnqueueResync(device);
                    continue;
                }
                devices.Add(device);
                foreach (var item in items)
                {
                    events += item.IsEvent ? 1 : 0;
                    count++;
                    WriteItem(buffer, device, item);
                    buffer.Write(","u8);
                }
                if (buffer.WrittenCount >= _options.FanoutBatchBytes || i == taken.Count - 1)
                {
                    ok = await PublishBatchAsync(nats, buffer, devices, count, ct).ConfigureAwait(false);
                    if (!ok)
                    {
                        Queue.CountLost(events);
                    }
                    buffer.Clear();
                    devices.Clear();
                    events = 0;
                    count = 0;
                }
            }
            if (!ok)
            {
                Queue.CountLost(events);
            }
            return ok;
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task<bool> PublishBatchAsync(NatsConnection nats, ArrayBufferWriter<byte> items, List<string> devices, int count, CancellationToken ct)
    {
        if (items.WrittenCount == 0)
        {
            return true;
        }
        var seq = Interlocked.Increment(ref _seq);
        var head = Encoding.GetBytes($"{{\"instance\":{JsonSerializer.Serialize(Instance)},\"run\":\"{_run}\",\"seq\":{seq},\"items\":[");
        // The items were written each followed by a comma: the last one becomes the end of the array.
        var payload = new byte[head.Length + items.WrittenCount + 1];
        head.CopyTo(payload, 0);
        items.WrittenSpan.CopyTo(payload.AsSpan(head.Length));
        payload[^2] = (byte)']';
        payload[^1] = (byte)'}';
        try
        {
            await nats.PublishAsync(Subject("dev." + Instance), payload, cancellationToken: ct).ConfigureAwait(false);
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _published, count);
            Interlocked.Exchange(ref _sent, seq);
            return true;
        }
        catch (Exception ex) when (ex is NatsException or TimeoutException)
        {
            // Taking the number back keeps receivers from counting a gap for a batch nobody was sent.
            Interlocked.CompareExchange(ref _seq, seq - 1, seq);
            Interlocked.Increment(ref _publishFailures);
            LogPublishFailed(ex.Message);
            foreach (var device in devices)
            {
                EnqueueResync(device);
            }
            return false;
        }
    }

    private static readonly System.Text.UTF8Encoding Encoding = new(false);

    private void WriteItem(ArrayBufferWriter<byte> buffer, string device, FanoutItem item)
    {
        switch (item.Kind)
        {
            case FanoutKind.Raw:
                buffer.Write(item.Raw);
                return;
            case FanoutKind.Resync:
                // The device as it is now: its announcement while held here (or waiting here), else offline (it left, or moved on).
                buffer.Write(device == ClaimsKey ? ClaimsItem() : hub.Session(device) is not { IsClosed: false } session ? Offline(device)
                    : session.Admitted ? Announcement(session, true, false) : WaitingItem(session));
                return;
        }
        using var w = new Utf8JsonWriter(buffer);
        w.WriteStartObject();
        w.WriteString("kind", "status");
        w.WriteString("device", device);
        w.WriteNumber("ts", item.Ts);
        WriteNode(w, "data", item.Delta);
        w.WriteEndObject();
    }

    /// <summary>A batch (or, from older senders and tests, a single message) from another instance.</summary>
    private void OnDeviceMessage(NatsMsg<byte[]> m)
    {
        if (m.Data is not { Length: > 0 } data || JsonNode.Parse(data) is not JsonObject a
            || JsonRead.Text(a["instance"]) is not { Length: > 0 } instance || instance == Instance)
        {
            return;
        }
        Seen(instance);
        if (a["items"] is not JsonArray items)
        {
            Apply(instance, a);
            return;
        }
        if (JsonRead.Number(a["seq"]) is { } s)
        {
            CheckSequence(instance, JsonRead.Text(a["run"]) ?? "", (long)s);
        }
        foreach (var item in items)
        {
            if (item is JsonObject o)
            {
                Apply(instance, o);
            }
        }
    }
}
