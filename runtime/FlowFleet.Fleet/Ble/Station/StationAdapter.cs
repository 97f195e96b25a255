using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using static FlowFleet.Fleet.Ble.Station.StationSocket;

namespace FlowFleet.Fleet.Ble.Station;

/// <summary>
/// A remote BLE station as an adapter of this server: scans and GATT operations are requests over its <c>/ble</c> websocket,
/// its advertisements and notifications come back as events. The Shelly framing runs here, above it, as for local radios.
/// </summary>
public sealed class StationAdapter : IBleAdapter, IBleAdapterKind
{
    private readonly WebSocket _socket;
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode?>> _pending = new();
    private readonly ConcurrentDictionary<string, Action<byte[]>> _notify = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _closed = new();
    private BleAdapterStatus _status = new(BleAdapterState.Unavailable, "waiting for the station's hello");
    private int _nextId;

    public StationAdapter(string station, string tokenId, WebSocket socket, string? remote)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Station = station;
        TokenId = tokenId;
        Remote = remote;
        Name = "station:" + station;
        _socket = socket;
    }

    public string Name { get; }

    public string Kind => "station";

    public string Station { get; }

    public string TokenId { get; }

    public string? Remote { get; }

    public DateTimeOffset ConnectedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>The station's local adapter (<c>hci0</c>), from its hello.</summary>
    public string? LocalAdapter { get; private set; }

    public BleAdapterStatus Status => _status;

    /// <summary>Time one request may take at the station.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public event Action<BleAdvertisement>? Advertisement;

    public event Action<IBleAdapter>? StatusChanged;

    /// <summary>Handles one frame from the station; false when it is not one this protocol knows (the hub closes then).</summary>
    public bool Handle(JsonObject frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (Int(frame["id"]) is { } id && (frame.ContainsKey("result") || frame.ContainsKey("error")))
        {
            if (_pending.TryRemove(id, out var waiter))
            {
                if (Str(frame["error"]) is { } error)
                {
                    waiter.TrySetException(new BleException($"{Name}: {error}"));
                }
                else
                {
                    waiter.TrySetResult(frame["result"]?.DeepClone());
                }
            }
            return true;
        }
        switch (Str(frame["event"]))
        {
            case "hello" or "status":
                LocalAdapter = Str(frame["adapter"]) ?? LocalAdapter;
                SetStatus(Status(frame["state"], frame["detail"]));
                return true;
            case "adv":
                var mfr = new Dictionary<ushort, byte[]>();
                if (frame["mfr"] is JsonObject m)
                {
                    foreach (var (k, v) in m)
                    {
                        if (ushort.TryParse(k, out var company))
                        {
                            mfr[company] = Bytes(v);
                        }
                    }
                }
                if (Str(frame["address"]) is { } address && Int(frame["rssi"]) is { } rssi)
                {
                    Advertisement?.Invoke(new BleAdvertisement(address, Str(frame["name"]), rssi, mfr, Name));
                }
                return true;
            case "notify":
                if (_notify.TryGetValue($"{Int(frame["conn"])}/{Str(frame["char"])}", out var handler))
                {
                    handler(Bytes(frame["value"]));
                }
                return true;
            default:
                return false;
        }
    }

    internal async Task<JsonNode?> RequestAsync(string method, JsonObject? parameters, CancellationToken ct)
    {
        if (_closed.IsCancellationRequested)
        {
            throw new BleException($"{Name} is disconnected");
        }
        var id = Interlocked.Increment(ref _nextId);
        var waiter = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = waiter;
        try
        {
            await SendAsync(_socket, _send, new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? [] }, ct).ConfigureAwait(false);
            return await waiter.Task.WaitAsync(RequestTimeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new BleException($"{Name} did not answer {method} within {RequestTimeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
        {
            throw new BleException($"{Name} is disconnected", ex);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public Task StartScanAsync(CancellationToken ct = default) => RequestAsync("scan.start", null, ct);

    public Task StopScanAsync(CancellationToken ct = default) => RequestAsync("scan.stop", null, ct);

    public async Task<IBleConnection> ConnectAsync(string address, CancellationToken ct = default)
    {
        var r = await RequestAsync("connect", new JsonObject { ["address"] = address }, ct).ConfigureAwait(false);
        var conn = Int(r?["conn"]) ?? throw new BleException($"{Name}: connect answered without a connection id");
        return new StationConnection(this, conn, address, Int(r?["maxChunk"]) ?? 20);
    }

    /// <summary>The socket closed: waiting requests fail, the adapter is gone.</summary>
    public void Closed()
    {
        _closed.Cancel();
        foreach (var (_, waiter) in _pending)
        {
            waiter.TrySetException(new BleException($"{Name} disconnected"));
        }
        SetStatus(new BleAdapterStatus(BleAdapterState.Disconnected, "the station disconnected"));
    }

    /// <summary>Closes the station's socket (token revoked, replaced by a newer connection, server stopping).</summary>
    public async Task CloseAsync(string reason)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, reason, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        _socket.Abort();
    }

    private void SetStatus(BleAdapterStatus status)
    {
        if (_status == status)
        {
            return;
        }
        _status = status;
        StatusChanged?.Invoke(this);
    }

    public ValueTask DisposeAsync()
    {
        Closed();
        return ValueTask.CompletedTask;
    }

    /// <summary>A GATT connection held by the station.</summary>
    private sealed class StationConnection(StationAdapter station, int conn, string address, int maxChunk) : IBleConnection
    {
        private int _closed;

        public string Address => address;

        public int MaxChunk => maxChunk;

        private JsonObject Args(Guid service, Guid characteristic) => new() { ["conn"] = conn, ["service"] = service.ToString(), ["char"] = characteristic.ToString() };

        public async Task<byte[]> ReadAsync(Guid service, Guid characteristic, CancellationToken ct = default) =>
            Bytes((await station.RequestAsync("read", Args(service, characteristic), ct).ConfigureAwait(false))?["value"]);

        public async Task WriteAsync(Guid service, Guid characteristic, ReadOnlyMemory<byte> value, CancellationToken ct = default)
        {
            var args = Args(service, characteristic);
            args["value"] = Convert.ToBase64String(value.Span);
            await station.RequestAsync("write", args, ct).ConfigureAwait(false);
        }

        public async Task<IAsyncDisposable?> SubscribeAsync(Guid service, Guid characteristic, Action<byte[]> onValue, CancellationToken ct = default)
        {
            var key = $"{conn}/{characteristic}";
            station._notify[key] = onValue;
            var r = await station.RequestAsync("subscribe", Args(service, characteristic), ct).ConfigureAwait(false);
            if (r?["ok"] is JsonValue ok && ok.TryGetValue<bool>(out var b) && b)
            {
                return new Unsubscribe(station, key, Args(service, characteristic));
            }
            station._notify.TryRemove(key, out _);
            return null;
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 1)
            {
                return;
            }
            foreach (var key in station._notify.Keys.Where(k => k.StartsWith(conn + "/", StringComparison.Ordinal)))
            {
                station._notify.TryRemove(key, out _);
            }
            try
            {
                await station.RequestAsync("disconnect", new JsonObject { ["conn"] = conn }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (BleException)
            {
                // The station dropped: it released its connections when the socket closed.
            }
        }
    }

    private sealed class Unsubscribe(StationAdapter station, string key, JsonObject args) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            station._notify.TryRemove(key, out _);
            try
            {
                await station.RequestAsync("unsubscribe", args, CancellationToken.None).ConfigureAwait(false);
            }
            catch (BleException)
            {
            }
        }
    }
}
