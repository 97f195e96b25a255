using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace FlowFleet.DeviceSim;

/// <summary>Options shared by the simulated devices of one process.</summary>
public sealed record SimOptions
{
    /// <summary>How often each device sends a NotifyStatus while connected.</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a battery device (H&amp;T) stays awake after connecting, and how long it sleeps.</summary>
    public TimeSpan AwakeTime { get; init; } = TimeSpan.FromSeconds(8);

    public TimeSpan SleepTime { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Offer the <c>json-rpc</c> websocket subprotocol as some firmware does.</summary>
    public bool OfferSubprotocol { get; init; } = true;
}

/// <summary>
/// A device's outbound websocket: connects to the configured server, sends NotifyFullStatus, answers requests, reports
/// status periodically, reconnects with exponential backoff and jitter, sleeps if the device is a battery device.
/// </summary>
public sealed class SimConnection : IAsyncDisposable
{
    private readonly SimDevice _device;
    private readonly SimOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<JsonObject> _outbox = Channel.CreateBounded<JsonObject>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private CancellationTokenSource? _session;
    private Task? _loop;
    private TimeSpan _rebootDelay = TimeSpan.MinValue;
    private volatile bool _sleepRequested;

    public SimConnection(SimDevice device, SimOptions options)
    {
        _device = device;
        _options = options;
        device.Notify += frame => _outbox.Writer.TryWrite(frame);
        device.Rebooting += delay => _ = RebootAsync(delay);
    }

    public SimDevice Device => _device;

    /// <summary>Time a rebooting device stays off the network.</summary>
    public static readonly TimeSpan BootTime = TimeSpan.FromMilliseconds(300);

    private async Task RebootAsync(TimeSpan delay)
    {
        await Task.Delay(delay).ConfigureAwait(false);
        _rebootDelay = BootTime;
        _session?.Cancel();
    }

    public bool Connected { get; private set; }

    /// <summary>An unprovisioned device (BLE side) stays off the network until a reboot with working Wi-Fi lets it go.</summary>
    public bool Held { get; set; }

    public event Action<SimConnection, bool>? ConnectionChanged;

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken ct)
    {
        var backoff = _options.MinBackoff;
        while (!ct.IsCancellationRequested)
        {
            var server = Held ? null : _device.OutboundServer;
            if (server is null)
            {
                await SimTiming.Delay(TimeSpan.FromSeconds(1), ct);
                continue;
            }
            using var ws = new ClientWebSocket();
            if (_options.OfferSubprotocol)
            {
                ws.Options.AddSubProtocol("json-rpc");
            }
            ws.Options.KeepAliveInterval = TimeSpan.Zero;
            try
            {
                using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                connectTimeout.CancelAfter(TimeSpan.FromSeconds(15));
                await ws.ConnectAsync(new Uri(server), connectTimeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or HttpRequestException or IOException)
            {
                if (ct.IsCancellationRequested)
                {
                    return;
                }
                await SimTiming.Delay(SimTiming.Jitter(backoff), ct);
                backoff = SimTiming.Next(backoff, _options);
                continue;
            }
            backoff = _options.MinBackoff;
            _rebootDelay = TimeSpan.MinValue;
            _sleepRequested = false;
            var session = _session = CancellationTokenSource.CreateLinkedTokenSource(ct);
            SetConnected(true);
            try
            {
                await RunSessionAsync(ws, session.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
            {
            }
            finally
            {
                SetConnected(false);
                if (ws.State == WebSocketState.Open)
                {
                    using var closeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    try
                    {
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, _rebootDelay >= TimeSpan.Zero ? "reboot" : "bye", closeTimeout.Token);
                    }
                    catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
                    {
                    }
                }
                session.Dispose();
                _session = null;
            }
            if (ct.IsCancellationRequested)
            {
                return;
            }
            if (_rebootDelay >= TimeSpan.Zero)
            {
                await SimTiming.Delay(_rebootDelay, ct);
            }
            else if (_sleepRequested)
            {
                await SimTiming.Delay(_options.SleepTime, ct);
            }
            else
            {
                await SimTiming.Delay(SimTiming.Jitter(backoff), ct);
                backoff = SimTiming.Next(backoff, _options);
            }
        }
    }

    private void SetConnected(bool connected)
    {
        Connected = connected;
        _device.SetConnected(connected);
        ConnectionChanged?.Invoke(this, connected);
    }

    private async Task RunSessionAsync(ClientWebSocket ws, CancellationToken ct)
    {
        while (_outbox.Reader.TryRead(out _))
        {
        }
        _outbox.Writer.TryWrite(_device.FullStatusFrame());
        var sender = SendLoopAsync(ws, ct);
        var reporter = _device.Profile.Sleeps ? SleepAfterAsync(ct) : SimTiming.ReportLoopAsync(_device, _options.ReportInterval, ct);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            var length = 0;
            while (!ct.IsCancellationRequested)
            {
                var result = await ws.ReceiveAsync(buffer.AsMemory(length), ct);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
                length += result.Count;
                if (!result.EndOfMessage)
                {
                    if (length == buffer.Length)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                    continue;
                }
                HandleFrame(buffer.AsSpan(0, length));
                length = 0;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _session?.Cancel();
            await Task.WhenAll(sender, reporter).ConfigureAwait(false);
        }
    }

    private void HandleFrame(ReadOnlySpan<byte> bytes)
    {
        JsonObject? frame;
        try
        {
            frame = JsonNode.Parse(bytes) as JsonObject;
        }
        catch (JsonException)
        {
            return;
        }
        if (frame?["method"] is null)
        {
            return;
        }
        var response = _device.HandleFrame(frame, "WS_in", localChannel: false);
        if (response is not null)
        {
            _outbox.Writer.TryWrite(response);
        }
    }

    private async Task SendLoopAsync(ClientWebSocket ws, CancellationToken ct)
    {
        try
        {
            while (await _outbox.Reader.WaitToReadAsync(ct))
            {
                while (_outbox.Reader.TryRead(out var frame))
                {
                    var bytes = JsonSerializer.SerializeToUtf8Bytes(frame);
                    await ws.SendAsync(bytes, WebSocketMessageType.Text, true, ct);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            _session?.Cancel();
        }
    }

    private async Task SleepAfterAsync(CancellationToken ct)
    {
        try
        {
            await Task.Delay(_options.AwakeTime, ct);
            _device.Tick(_options.SleepTime);
            await Task.Delay(300, ct);
            _sleepRequested = true;
            _session?.Cancel();
        }
        catch (OperationCanceledException)
        {
        }
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        _stop.Dispose();
    }
}
