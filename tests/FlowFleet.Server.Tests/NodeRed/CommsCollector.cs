using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests.NodeRed;

/// <summary>Subscribes to <c>debug</c> on a <c>/comms</c> websocket and files each packet under the case that sent it.</summary>
public sealed class CommsCollector : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, List<JsonObject>> _byPrefix = new(StringComparer.Ordinal);
    private readonly Lock _waitersLock = new();
    private readonly List<(string Prefix, int Count, TaskCompletionSource Arrived)> _waiters = [];
    private Task? _loop;
    private int _total;

    public int Total => Volatile.Read(ref _total);

    public static async Task<CommsCollector> ConnectAsync(Uri comms)
    {
        var c = new CommsCollector();
        await c._socket.ConnectAsync(comms, CancellationToken.None);
        var sub = Encoding.UTF8.GetBytes("""{"subscribe":"debug"}""");
        await c._socket.SendAsync(sub, WebSocketMessageType.Text, true, CancellationToken.None);
        c._loop = c.ReceiveLoopAsync();
        return c;
    }

    public IReadOnlyList<JsonObject> For(string prefix)
    {
        var list = _byPrefix.GetOrAdd(prefix, _ => []);
        lock (list)
        {
            return list.ToList();
        }
    }

    public int CountFor(string prefix)
    {
        var list = _byPrefix.GetOrAdd(prefix, _ => []);
        lock (list)
        {
            return list.Count;
        }
    }

    /// <summary>Completes when <paramref name="count"/> packets of the case with this prefix have arrived (signalled as each is
    /// filed, not polled); fails after the timeout.</summary>
    public async Task WaitForAsync(string prefix, int count, TimeSpan timeout)
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waitersLock)
        {
            _waiters.Add((prefix, count, arrived));
        }
        try
        {
            if (CountFor(prefix) >= count)
            {
                return;
            }
            await arrived.Task.WaitAsync(timeout);
        }
        finally
        {
            lock (_waitersLock)
            {
                _waiters.RemoveAll(w => w.Arrived == arrived);
            }
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[1 << 16];
        var text = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var r = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
                text.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage)
                {
                    continue;
                }
                var json = JsonNode.Parse(text.ToArray());
                text.SetLength(0);
                foreach (var item in (json as JsonArray ?? [json?.DeepClone()]).OfType<JsonObject>())
                {
                    if (item["topic"]?.GetValue<string>() == "debug" && item["data"] is JsonObject data)
                    {
                        File(data);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // Closed.
        }
    }

    private void File(JsonObject data)
    {
        // The tab id is the case prefix plus "tab"; subflow instances carry it as the first segment of path.
        var where = data["path"]?.GetValue<string>()?.Split('/')[0] ?? data["z"]?.GetValue<string>() ?? data["id"]?.GetValue<string>() ?? "";
        var cut = where.IndexOf('_', StringComparison.Ordinal);
        var prefix = cut > 0 ? where[..(cut + 1)] : "";
        var list = _byPrefix.GetOrAdd(prefix, _ => []);
        lock (list)
        {
            list.Add((JsonObject)data.DeepClone());
        }
        Interlocked.Increment(ref _total);
        var count = CountFor(prefix);
        lock (_waitersLock)
        {
            foreach (var w in _waiters.Where(w => w.Prefix == prefix && count >= w.Count))
            {
                w.Arrived.TrySetResult();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ContinueWith(_ => { }, TaskScheduler.Default);
        }
        _socket.Dispose();
        _stop.Dispose();
    }
}
