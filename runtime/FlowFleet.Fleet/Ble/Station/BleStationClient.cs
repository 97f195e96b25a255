using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static FlowFleet.Fleet.Ble.Station.StationSocket;

namespace FlowFleet.Fleet.Ble.Station;

/// <summary>
/// The station side of <c>/ble</c> (<c>flowfleet ble-station</c>): connects to the fleet server with its token, reports its
/// local adapter's state and advertisements, and carries out the server's scan and GATT requests on that adapter. A dropped
/// or refused connection is retried with exponential backoff and jitter.
/// </summary>
public sealed partial class BleStationClient(Uri server, string token, string name, IBleAdapter adapter, ILogger<BleStationClient>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<BleStationClient>.Instance;

    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Sessions opened so far (1 after the first connect; more after reconnects).</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    public bool Connected { get; private set; }

    private int _sessions;

    public async Task RunAsync(CancellationToken ct)
    {
        var backoff = MinBackoff;
        while (!ct.IsCancellationRequested)
        {
            var started = DateTime.UtcNow;
            try
            {
                await SessionAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or HttpRequestException or BleException)
            {
                LogDropped(server.ToString(), ex.Message);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            // A session that lasted resets the backoff; one that failed at once doubles it.
            backoff = DateTime.UtcNow - started > TimeSpan.FromSeconds(30) ? MinBackoff : backoff;
            var wait = TimeSpan.FromMilliseconds(backoff.TotalMilliseconds * (0.8 + Random.Shared.NextDouble() * 0.4));
            LogRetry(wait.TotalSeconds);
            try
            {
                await Task.Delay(wait, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    private async Task SessionAsync(CancellationToken ct)
    {
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
        var uri = new UriBuilder(server) { Query = "name=" + Uri.EscapeDataString(name) }.Uri;
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            connectTimeout.CancelAfter(TimeSpan.FromSeconds(15));
            await socket.ConnectAsync(uri, connectTimeout.Token).ConfigureAwait(false);
        }
        using var session = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var send = new SemaphoreSlim(1, 1);
        var outbox = Channel.CreateBounded<JsonObject>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        var connections = new ConcurrentDictionary<int, IBleConnection>();
        var subscriptions = new ConcurrentDictionary<string, IAsyncDisposable>(StringComparer.Ordinal);
        var nextConn = 0;
        void OnAdvertisement(BleAdvertisement a)
        {
            var mfr = new JsonObject();
            foreach (var (company, data) in a.ManufacturerData)
            {
                mfr[company.ToString(System.Globalization.CultureInfo.InvariantCulture)] = Convert.ToBase64String(data);
            }
            outbox.Writer.TryWrite(new JsonObject { ["event"] = "adv", ["address"] = a.Address, ["name"] = a.Name, ["rssi"] = a.Rssi, ["mfr"] = mfr });
        }
        void OnStatus(IBleAdapter a) => outbox.Writer.TryWrite(StatusFrame("status"));
        adapter.Advertisement += OnAdvertisement;
        adapter.StatusChanged += OnStatus;
        var sender = Task.Run(async () =>
        {
            await foreach (var frame in outbox.Reader.ReadAllAsync(session.Token).ConfigureAwait(false))
            {
                await SendAsync(socket, send, frame, session.Token).ConfigureAwait(false);
            }
        }, CancellationToken.None);
        try
        {
            await SendAsync(socket, send, StatusFrame("hello"), ct).ConfigureAwait(false);
            Interlocked.Increment(ref _sessions);
            Connected = true;
            LogConnected(server.ToString(), adapter.Status.ToString());
            var buffer = new byte[MaxFrameBytes];
            while (await ReceiveAsync(socket, buffer, ct).ConfigureAwait(false) is { } request)
            {
                // GATT operations of different devices overlap; the server keeps one frame in flight per device.
                _ = Task.Run(async () =>
                {
                    JsonObject reply = new() { ["id"] = request["id"]?.DeepClone() };
                    try
                    {
                        reply["result"] = await ServeAsync(request, connections, subscriptions, () => Interlocked.Increment(ref nextConn), outbox.Writer, session.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is BleException or ArgumentException or InvalidOperationException)
                    {
                        reply["error"] = ex.Message;
                    }
                    outbox.Writer.TryWrite(reply);
                }, CancellationToken.None);
            }
        }
        finally
        {
            Connected = false;
            adapter.Advertisement -= OnAdvertisement;
            adapter.StatusChanged -= OnStatus;
            await session.CancelAsync().ConfigureAwait(false);
            try
            {
                await sender.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
            {
            }
            foreach (var s in subscriptions.Values)
            {
                await Quietly(() => s.DisposeAsync().AsTask()).ConfigureAwait(false);
            }
            foreach (var c in connections.Values)
            {
                await Quietly(() => c.DisposeAsync().AsTask()).ConfigureAwait(false);
            }
            // Nobody listens to advertisements while the server is away.
            await Quietly(() => adapter.StopScanAsync(CancellationToken.None)).ConfigureAwait(false);
        }
    }

    private JsonObject StatusFrame(string kind) =>
        new() { ["event"] = kind, ["name"] = name, ["adapter"] = adapter.Name, ["state"] = adapter.Status.State.ToString(), ["detail"] = adapter.Status.Detail };

    private async Task<JsonNode?> ServeAsync(JsonObject request, ConcurrentDictionary<int, IBleConnection> connections, ConcurrentDictionary<string, IAsyncDisposable> subscriptions,
        Func<int> newConn, ChannelWriter<JsonObject> outbox, CancellationToken ct)
    {
        var p = request["params"] as JsonObject ?? [];
        IBleConnection Conn() => connections.TryGetValue(Int(p["conn"]) ?? -1, out var c) ? c : throw new BleException("no such connection (it was closed)");
        switch (Str(request["method"]))
        {
            case "scan.start":
                await adapter.StartScanAsync(ct).ConfigureAwait(false);
                return new JsonObject { ["scanning"] = true };
            case "scan.stop":
                await adapter.StopScanAsync(ct).ConfigureAwait(false);
                return new JsonObject { ["scanning"] = false };
            case "connect":
                var connection = await adapter.ConnectAsync(Str(p["address"]) ?? throw new ArgumentException("address is required"), ct).ConfigureAwait(false);
                var id = newConn();
                connections[id] = connection;
                return new JsonObject { ["conn"] = id, ["maxChunk"] = connection.MaxChunk };
            case "read":
                return new JsonObject { ["value"] = Convert.ToBase64String(await Conn().ReadAsync(Guid(p["service"]), Guid(p["char"]), ct).ConfigureAwait(false)) };
            case "write":
                await Conn().WriteAsync(Guid(p["service"]), Guid(p["char"]), Bytes(p["value"]), ct).ConfigureAwait(false);
                return new JsonObject { ["ok"] = true };
            case "subscribe":
                var conn = Int(p["conn"]);
                var ch = Guid(p["char"]);
                var sub = await Conn().SubscribeAsync(Guid(p["service"]), ch, v =>
                    outbox.TryWrite(new JsonObject { ["event"] = "notify", ["conn"] = conn, ["char"] = ch.ToString(), ["value"] = Convert.ToBase64String(v) }), ct).ConfigureAwait(false);
                if (sub is not null)
                {
                    subscriptions[$"{conn}/{ch}"] = sub;
                }
                return new JsonObject { ["ok"] = sub is not null };
            case "unsubscribe":
                if (subscriptions.TryRemove($"{Int(p["conn"])}/{Guid(p["char"])}", out var s))
                {
                    await s.DisposeAsync().ConfigureAwait(false);
                }
                return new JsonObject { ["ok"] = true };
            case "disconnect":
                if (connections.TryRemove(Int(p["conn"]) ?? -1, out var closing))
                {
                    foreach (var key in subscriptions.Keys.Where(k => k.StartsWith($"{Int(p["conn"])}/", StringComparison.Ordinal)))
                    {
                        if (subscriptions.TryRemove(key, out var dropped))
                        {
                            await dropped.DisposeAsync().ConfigureAwait(false);
                        }
                    }
                    await closing.DisposeAsync().ConfigureAwait(false);
                }
                return new JsonObject { ["ok"] = true };
            default:
                throw new ArgumentException($"unknown method {Str(request["method"])}");
        }
    }

    private static async Task Quietly(Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is BleException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "BLE station connected to {Server}; adapter {Status}")]
    private partial void LogConnected(string server, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "BLE station: connection to {Server} lost or refused: {Reason}")]
    private partial void LogDropped(string server, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "BLE station: reconnecting in {Seconds:0.0} s")]
    private partial void LogRetry(double seconds);
}
