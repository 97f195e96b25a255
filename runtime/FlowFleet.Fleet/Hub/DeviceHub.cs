using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// Terminates the devices' outbound websockets on <c>/shelly</c>: identifies each device by the <c>src</c> of its first status
/// frame, admits it (or parks it as pending), reads its identity, keeps its status current, raises device events and carries
/// RPCs to it.
/// </summary>
public sealed partial class DeviceHub(DeviceRegistry registry, IOptions<FleetOptions> options, ILogger<DeviceHub> hubLogger) : IDisposable
{
    // Everything the hub logs is about devices, which come in thousands: at most 20 lines a second.
    private readonly ILogger _logger = new RateLimitedLogger(hubLogger, 20);

    // One timer for every RPC deadline and direct connection's ping: a sweep four times a second fails calls past their time.
    private Timer? _sweep;

    private void EnsureSweep()
    {
        if (_sweep is null)
        {
            var timer = new Timer(_ => Sweep(), null, Timeout.Infinite, Timeout.Infinite);
            if (Interlocked.CompareExchange(ref _sweep, timer, null) is null)
            {
                timer.Change(250, 250);
            }
            else
            {
                timer.Dispose();
            }
        }
    }

    // Connections waiting for their first frame, with their deadlines.
    private readonly ConcurrentDictionary<CancellationTokenSource, long> _handshakes = new();

    private void Sweep()
    {
        var now = Environment.TickCount64;
        var pingInterval = (long)_options.PingInterval.TotalMilliseconds;
        var pingTimeout = (long)_options.PingTimeout.TotalMilliseconds;
        foreach (var session in _sessions.Values.Concat(_claims.Values))
        {
            session.ExpireCalls(now);
            // Direct connections have no timer of their own for pings (HTTP-upgraded ones have the websocket's keep-alive).
            if (session.Socket is DeviceSocket direct)
            {
                direct.KeepAlive(now, pingInterval, pingTimeout);
            }
        }
        foreach (var (cts, deadline) in _handshakes)
        {
            if (deadline <= now && _handshakes.TryRemove(cts, out _))
            {
                try
                {
                    cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }
    }

    public void Dispose() => _sweep?.Dispose();

    /// <summary>Cancels <paramref name="deadline"/> when the first-frame timeout passes (until forgotten).</summary>
    internal void TrackHandshake(CancellationTokenSource deadline) => TrackHandshake(deadline, _options.FirstFrameTimeout);

    /// <summary>Cancels <paramref name="deadline"/> after <paramref name="timeout"/> (until forgotten).</summary>
    internal void TrackHandshake(CancellationTokenSource deadline, TimeSpan timeout)
    {
        _handshakes[deadline] = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        EnsureSweep();
    }

    private long _idleClosed;

    /// <summary>Connections closed before they sent a whole request head (silent, too slow, or pushed out by a newer one).</summary>
    public long IdleConnectionsClosed => Interlocked.Read(ref _idleClosed);

    internal void CountIdleClosed() => Interlocked.Increment(ref _idleClosed);

    internal void ForgetHandshake(CancellationTokenSource deadline) => _handshakes.TryRemove(deadline, out _);

    private long _directConnections;

    /// <summary>Device websockets taken straight off their connection (see <see cref="DeviceConnections"/>).</summary>
    public long DirectConnections => Interlocked.Read(ref _directConnections);

    internal bool TryOpenDirect(long max)
    {
        if (Interlocked.Increment(ref _directConnections) <= max)
        {
            return true;
        }
        Interlocked.Decrement(ref _directConnections);
        Interlocked.Increment(ref _connectionsRefused);
        return false;
    }

    internal void CloseDirect() => Interlocked.Decrement(ref _directConnections);

    internal void CountRefused() => Interlocked.Increment(ref _connectionsRefused);

    /// <summary>Close codes sent to devices.</summary>
    public const WebSocketCloseStatus ClosedReplaced = (WebSocketCloseStatus)4000;

    private readonly ConcurrentDictionary<string, DeviceSession> _sessions = new(StringComparer.Ordinal);
    private readonly FleetOptions _options = options.Value;
    private ImmutableArray<Action<DeviceEvent>> _subscribers = [];
    private long _eventsProcessed;
    private long _framesRejected;
    private long _connectionsRefused;
    private long _statusOverLimits;

    public DeviceRegistry Registry => registry;

    /// <summary>Passwords for devices with authentication enabled (the server sets an encrypting implementation).</summary>
    public Rpc.IDeviceCredentials Credentials { get; set; } = new Rpc.PlainDeviceCredentials();

    public FleetOptions Options => _options;

    public int OnlineCount => _sessions.Count(s => s.Value.Admitted);

    public int ConnectionCount => _sessions.Count;

    public long EventsProcessed => Interlocked.Read(ref _eventsProcessed);

    public long FramesRejected => Interlocked.Read(ref _framesRejected);

    /// <summary>Status reports that went over a device's status limits (partly or wholly not stored).</summary>
    public long StatusOverLimits => Interlocked.Read(ref _statusOverLimits);

    /// <summary>Device websockets refused because the server is at its connection budget.</summary>
    public long ConnectionsRefused => Interlocked.Read(ref _connectionsRefused);

    public IEnumerable<DeviceSession> Sessions => _sessions.Values;

    public DeviceSession? Session(string id) => _sessions.GetValueOrDefault(id);

    public bool IsOnline(string id) => _sessions.TryGetValue(id, out var s) && s.Admitted;

    /// <summary>Receives every device event until the returned handle is disposed. Handlers run inline: keep them short.</summary>
    public IDisposable Subscribe(Action<DeviceEvent> handler)
    {
        ImmutableInterlocked.Update(ref _subscribers, s => s.Add(handler));
        return new Unsubscriber(() => ImmutableInterlocked.Update(ref _subscribers, s => s.Remove(handler)));
    }

    private sealed class Unsubscriber(Action action) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                action();
            }
        }
    }

    private void Raise(DeviceEvent e)
    {
        foreach (var s in _subscribers)
        {
            try
            {
                s(e);
            }
            catch (Exception ex)
            {
                LogSubscriberFailed(ex, e.Kind, e.DeviceId);
            }
        }
    }

    private int _messageListeners;

    /// <summary>True when someone listens for raw frames (the Data page, <c>/client</c> with Shelly.Message).</summary>
    public bool WantsMessages => Volatile.Read(ref _messageListeners) > 0;

    /// <summary>Asks for <see cref="DeviceEventKind.Message"/> events (raw frames in and out) until the handle is disposed.</summary>
    public IDisposable ListenToMessages()
    {
        Interlocked.Increment(ref _messageListeners);
        return new Unsubscriber(() => Interlocked.Decrement(ref _messageListeners));
    }

    /// <summary>Calls a method on a connected, admitted device. Offline → error -114 at once; no answer → -104 after the timeout.</summary>
    public async Task<JsonNode?> CallAsync(string deviceId, string method, JsonNode? parameters = null, TimeSpan? timeout = null, string? user = null, CancellationToken ct = default)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (!_sessions.TryGetValue(deviceId, out var session) || !session.Admitted)
        {
            var known = registry.Get(deviceId) is not null;
            var error = new ShellyRpcException(ShellyRpcException.Unavailable, known ? $"Device {deviceId} is offline" : $"Unknown device {deviceId}");
            registry.LogCommand(user, deviceId, method, parameters, false, error.Message, 0);
            throw error;
        }
        try
        {
            var result = await session.CallAsync(method, parameters, timeout, ct).ConfigureAwait(false);
            registry.LogCommand(user, deviceId, method, parameters, true, null, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return result;
        }
        catch (ShellyRpcException ex)
        {
            registry.LogCommand(user, deviceId, method, parameters, false, $"{ex.Code}: {ex.Message}", System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
    }

    /// <summary>Serves one device websocket (the <c>/shelly</c> endpoint).</summary>
    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("Shelly devices connect here with a websocket (Ws.SetConfig server = ws://host:7011/shelly)");
            return;
        }
        var offered = context.WebSockets.WebSocketRequestedProtocols;
        WebSocket socket;
        try
        {
            socket = await context.WebSockets.AcceptWebSocketAsync(offered.Contains("json-rpc") ? "json-rpc" : null);
        }
        catch (InvalidOperationException ex) when (!context.Response.HasStarted)
        {
            // The server holds as many websockets as its open-file limit allows (see ConnectionBudget): the device retries.
            Interlocked.Increment(ref _connectionsRefused);
            LogRejected(context.Connection.RemoteIpAddress?.ToString() ?? "device", ex.Message);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }
        using var owned = socket;
        var remote = context.Connection.RemoteIpAddress?.ToString();
        var token = context.Request.Query["token"].ToString();
        await RunAsync(socket, remote, string.IsNullOrEmpty(token) ? null : token, context.RequestAborted).ConfigureAwait(false);
        if (socket.State == WebSocketState.Aborted && !context.RequestAborted.IsCancellationRequested)
        {
            // ASP.NET's websocket closes a text frame that is not UTF-8 itself (1007) and aborts. Ending the request at once
            // resets the connection under the close frame, so the device never reads it: let it read and hang up first.
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2), context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Serves one device over an open websocket until it closes (used by <see cref="DeviceConnections"/>).</summary>
    public Task ServeAsync(WebSocket socket, string? remote, string? token, CancellationToken aborted) => RunAsync(socket, remote, token, aborted);

    private async Task<(DeviceSession? Session, bool Created, bool Admitted)> OpenSessionAsync(WebSocket socket, string? remote, string? token, CancellationToken aborted)
    {
        JsonObject first;
        using (var firstTimeout = CancellationTokenSource.CreateLinkedTokenSource(aborted))
        {
            // The sweep cancels it at the deadline (no timer per connection: see Sweep).
            TrackHandshake(firstTimeout);
            (ReadOutcome, JsonObject?) read;
            try
            {
                read = await ReadFrameAsync(socket, firstTimeout.Token, maxBytes: _options.MaxFirstFrameBytes).ConfigureAwait(false);
            }
            finally
            {
                ForgetHandshake(firstTimeout);
            }
            var (outcome, frame) = read;
            if (outcome != ReadOutcome.Frame)
            {
                await RejectAsync(socket, outcome, "first frame").ConfigureAwait(false);
                return (null, false, false);
            }
            first = frame!;
        }
        var src = first["src"] is JsonValue sv && sv.TryGetValue<string>(out var s) ? s : null;
        var method = first["method"] is JsonValue mv && mv.TryGetValue<string>(out var m) ? m : null;
        if (string.IsNullOrWhiteSpace(src) || src.Length > 128 || method is not ("NotifyFullStatus" or "NotifyStatus" or "NotifyEvent"))
        {
            Interlocked.Increment(ref _framesRejected);
            LogBadFirstFrame(remote, src, method);
            await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, "First frame must be NotifyFullStatus/NotifyStatus with the device id in src").ConfigureAwait(false);
            return (null, false, false);
        }

        var known = registry.Get(src);
        if (known?.Admission == AdmissionStates.Accepted && !Proves(known, token, remote))
        {
            return (await ClaimAsync(socket, src, token, remote).ConfigureAwait(false), false, false);
        }
        var auto = _options.Admission.Equals("auto", StringComparison.OrdinalIgnoreCase);
        // A bound device's token was checked above (no database write per reconnect); others use it up here.
        var tokenValid = token is not null && known?.Admission != AdmissionStates.Denied && (known?.Admission != AdmissionStates.Accepted || known.TokenHash is null)
            && await registry.UseTokenAsync(token, aborted).ConfigureAwait(false);
        if (known is null && !auto && !tokenValid && RefuseNewPending(remote) is { } full)
        {
            // Anonymous new ids are cheap to invent: the waiting room and the rate of new ids per address are bounded.
            Interlocked.Increment(ref _connectionsRefused);
            LogPendingRefused(src, remote, full);
            await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, full).ConfigureAwait(false);
            return (null, false, false);
        }
        var state = registry.Touch(src, out var created);
        if (state.Admission == AdmissionStates.Denied)
        {
            await TellToLeaveAsync(socket, src).ConfigureAwait(false);
            return (null, false, false);
        }
        var admitted = state.Admission == AdmissionStates.Accepted;
        if (!admitted && (auto || tokenValid))
        {
            state.Admission = AdmissionStates.Accepted;
            registry.LogEvent(src, "admission", null, AdmissionStates.Accepted, token is null ? null : JsonValue.Create("token"));
            admitted = true;
        }
        if (tokenValid && state.TokenHash is null)
        {
            // The token that admitted (or first came with) this device is bound to its id: later connections must show it.
            state.TokenHash = DeviceRegistry.HashToken(token!);
            state.Dirty = true;
        }

        var session = new DeviceSession(state, socket, _options, remote) { FrameSent = _onFrameSent ??= OnFrameSent, Credentials = Credentials };
        if (_sessions.TryGetValue(src, out var old))
        {
            LogReplaced(src);
            old.FrameSent = null;
            _ = old.CloseAsync(ClosedReplaced, "Replaced by a new connection of the same device");
        }
        _sessions[src] = session;
        EnsureSweep();
        lock (state.Gate)
        {
            if (first["params"] is JsonObject p && method is "NotifyFullStatus" or "NotifyStatus")
            {
                var limits = admitted ? Limits : PendingLimits;
                var dropped = method == "NotifyFullStatus" ? state.ReplaceStatus(p, limits) : state.MergeStatus(p, limits);
                if (dropped > 0)
                {
                    Interlocked.Increment(ref _statusOverLimits);
                    if (admitted)
                    {
                        LogStatusOverLimits(src, dropped);
                    }
                }
            }
            state.LastSeen = DateTime.UtcNow;
            state.Ip = remote ?? state.Ip;
            state.Transport = session.Transport;
            if (admitted && state.TokenHash is null && remote is not null && state.BoundAddress != remote)
            {
                state.BoundAddress = remote;
                state.Dirty = true;
            }
            state.StatusDirty = true;
        }
        return (session, created, admitted);
    }

    private async Task RunAsync(WebSocket socket, string? remote, string? token, CancellationToken aborted)
    {
        // The first frame is parsed and dropped inside OpenSessionAsync: nothing of it stays alive for the connection's life.
        var (session, created, admitted) = await OpenSessionAsync(socket, remote, token, aborted).ConfigureAwait(false);
        if (session is null)
        {
            return;
        }
        if (session.Claim is not null)
        {
            await RunClaimAsync(session, aborted).ConfigureAwait(false);
            return;
        }
        var src = session.Id;
        var state = session.State;
        Task init;
        if (admitted)
        {
            init = AdmitAsync(session);
        }
        else
        {
            LogPending(src, remote);
            init = IdentifyPendingAsync(session, created);
        }
        try
        {
            await ReceiveLoopAsync(session, aborted).ConfigureAwait(false);
        }
        finally
        {
            session.MarkClosed();
            await init.ConfigureAwait(false);
            Ended(session);
        }
    }

    /// <summary>A device's connection ended: unless a newer one took its place, the device is offline.</summary>
    private void Ended(DeviceSession session)
    {
        var state = session.State;
        if (_sessions.TryRemove(new KeyValuePair<string, DeviceSession>(session.Id, session)))
        {
            state.Online = false;
            state.LastSeen = DateTime.UtcNow;
            state.StatusDirty = true;
            if (session.Admitted)
            {
                registry.LogEvent(session.Id, "disconnect", null, null, null);
                Raise(new DeviceEvent(DeviceEventKind.Disconnect, session.Id, null, ShellyFrames.Now()));
            }
        }
    }

    private readonly SemaphoreSlim _identityReads = new(IdentityReadsAtOnce);

    /// <summary>Identity reads (four or five RPCs each) in flight at once across all devices.</summary>
    internal const int IdentityReadsAtOnce = 64;

    /// <summary>Marks a connected device admitted and reads its identity (also used when a pending device is accepted).</summary>
    private async Task AdmitAsync(DeviceSession session)
    {
        session.Admitted = true;
        session.State.Online = true;
        session.State.StatusDirty = true;
        registry.LogEvent(session.Id, "connect", null, null, session.RemoteAddress is null ? null : JsonValue.Create(session.RemoteAddress));
        // A connect storm (a site's network coming back) would start thousands of identity reads at once and flood the
        // thread pool ahead of HTTP requests: a few dozen at a time, the rest wait (the device reports meanwhile).
        await _identityReads.WaitAsync().ConfigureAwait(false);
        try
        {
            await ReadIdentityAsync(session).ConfigureAwait(false);
        }
        catch (ShellyRpcException ex)
        {
            LogIdentityFailed(session.Id, ex.Message);
        }
        finally
        {
            _identityReads.Release();
        }
        if (session.IsClosed)
        {
            return;
        }
        Raise(new DeviceEvent(DeviceEventKind.Connect, session.Id, null, ShellyFrames.Now()));
        await ApplyDesiredAsync(session.Id).ConfigureAwait(false);
    }

    private async Task ReadIdentityAsync(DeviceSession session)
    {
        var info = session.CallAsync("Shelly.GetDeviceInfo");
        var config = session.CallAsync("Shelly.GetConfig");
        var status = session.CallAsync("Shelly.GetStatus");
        var methods = session.CallAsync("Shelly.ListMethods");
        await Task.WhenAll(Quiet(info), Quiet(config), Quiet(status), Quiet(methods)).ConfigureAwait(false);
        var methodList = methods.IsCompletedSuccessfully && methods.Result.Field("methods") is JsonArray a ? JsonRead.Strings(a) : null;
        JsonObject? configObject = config.IsCompletedSuccessfully ? config.Result as JsonObject : null;
        if (methodList?.Contains("Shelly.GetComponents", StringComparer.OrdinalIgnoreCase) == true && configObject is not null)
        {
            await AddDynamicComponentsAsync(session, configObject).ConfigureAwait(false);
        }
        JsonObject? statusObject = status.IsCompletedSuccessfully ? status.Result as JsonObject : null;
        registry.ApplyIdentity(session.State, info.IsCompletedSuccessfully ? info.Result as JsonObject : null, configObject, statusObject, methodList);
        if (info.IsFaulted)
        {
            // The device's own error, thrown with the stack it was raised with.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(info.Exception!.InnerException as ShellyRpcException
                ?? new ShellyRpcException(-1, "GetDeviceInfo failed: " + info.Exception.GetBaseException().Message));
        }
    }

    /// <summary>Pages through <c>Shelly.GetComponents {dynamic_only}</c> and adds each component's config.</summary>
    private async Task AddDynamicComponentsAsync(DeviceSession session, JsonObject configObject)
    {
        var offset = 0;
        while (true)
        {
            var page = await session.CallAsync("Shelly.GetComponents", new JsonObject { ["dynamic_only"] = true, ["offset"] = offset }).ConfigureAwait(false) as JsonObject;
            var components = page.Field("components") as JsonArray ?? [];
            foreach (var c in components.OfType<JsonObject>())
            {
                if (JsonRead.Text(c.Field("key")) is { } key && c.Field("config") is JsonObject cc)
                {
                    configObject[key] = cc.DeepClone();
                }
            }
            offset += components.Count;
            var total = JsonRead.Number(page.Field("total")) ?? 0;
            // A device can't keep this loop going by claiming a huge total.
            if (components.Count == 0 || offset >= total || offset >= _options.MaxStatusComponents)
            {
                break;
            }
        }
    }

    private static async Task Quiet(Task t)
    {
        try
        {
            await t.ConfigureAwait(false);
        }
        catch (ShellyRpcException)
        {
        }
    }

    private async Task IdentifyPendingAsync(DeviceSession session, bool created)
    {
        try
        {
            var info = await session.CallAsync("Shelly.GetDeviceInfo").ConfigureAwait(false) as JsonObject;
            registry.ApplyIdentity(session.State, info, null, null, null);
        }
        catch (ShellyRpcException ex)
        {
            LogIdentityFailed(session.Id, ex.Message);
        }
        if (created)
        {
            await registry.SaveAsync(session.State).ConfigureAwait(false);
        }
        registry.LogEvent(session.Id, "pending", null, null, null);
        Raise(new DeviceEvent(DeviceEventKind.Pending, session.Id, null, ShellyFrames.Now()));
    }

    /// <summary>Accepts a pending device: if it is connected it becomes online at once.</summary>
    public async Task AcceptAsync(string id, CancellationToken ct = default)
    {
        await registry.SetAdmissionAsync(id, AdmissionStates.Accepted, ct).ConfigureAwait(false);
        if (_sessions.TryGetValue(id, out var s) && !s.Admitted)
        {
            if (s.State.TokenHash is null && s.RemoteAddress is not null)
            {
                // Accepted without a token: where it is connected from is what proves its id later (issue 13).
                s.State.BoundAddress = s.RemoteAddress;
                s.State.Dirty = true;
            }
            await AdmitAsync(s).ConfigureAwait(false);
        }
    }

    /// <summary>Denies a device: it is told to stop connecting (<c>Ws.SetConfig {server:"#",enable:false}</c> + reboot) and disconnected.</summary>
    public async Task DenyAsync(string id, CancellationToken ct = default)
    {
        await registry.SetAdmissionAsync(id, AdmissionStates.Denied, ct).ConfigureAwait(false);
        if (_sessions.TryGetValue(id, out var s))
        {
            try
            {
                await s.CallAsync("Ws.SetConfig", new JsonObject { ["config"] = new JsonObject { ["server"] = "#", ["enable"] = false } }, TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
                await s.CallAsync("Shelly.Reboot", new JsonObject { ["delay_ms"] = 1000 }, TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            }
            catch (ShellyRpcException ex)
            {
                LogIdentityFailed(id, ex.Message);
            }
            await s.CloseAsync(WebSocketCloseStatus.PolicyViolation, "Denied").ConfigureAwait(false);
        }
    }

    private async Task TellToLeaveAsync(WebSocket socket, string id)
    {
        try
        {
            var send = async (JsonObject f) => await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(f), WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
            await send(ShellyFrames.Request(1, _options.Source, "Ws.SetConfig", new JsonObject { ["config"] = new JsonObject { ["server"] = "#", ["enable"] = false } })).ConfigureAwait(false);
            await send(ShellyFrames.Request(2, _options.Source, "Shelly.Reboot", new JsonObject { ["delay_ms"] = 1000 })).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException)
        {
        }
        LogDenied(id);
        await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, "Denied").ConfigureAwait(false);
    }

    // One delegate for every session (a method group makes a new one each time).
    private Action<DeviceSession, JsonObject>? _onFrameSent;

    private void OnFrameSent(DeviceSession session, JsonObject frame)
    {
        if (WantsMessages)
        {
            Raise(new DeviceEvent(DeviceEventKind.Message, session.Id, frame, ShellyFrames.Now(), Outbound: true) { Method = JsonRead.Text(frame.Field("method")) });
        }
    }
}
