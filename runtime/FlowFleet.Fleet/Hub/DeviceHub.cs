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
public sealed partial class DeviceHub(IDeviceStore registry, IGroupStore groups, IEnrollmentTokenStore tokens, IEventLog eventLog, IAuditLog audit, ITelemetryStore telemetry, IOptions<FleetOptions> options, ILogger<DeviceHub> hubLogger) : IDisposable
{
    // Everything the hub logs is about devices, which come in thousands: at most 20 lines a second.
    private readonly ILogger _logger = new RateLimitedLogger(hubLogger, 20);

    /// <summary>Close codes sent to devices.</summary>
    public const WebSocketCloseStatus ClosedReplaced = (WebSocketCloseStatus)4000;

    private readonly ConcurrentDictionary<string, DeviceSession> _sessions = new(StringComparer.Ordinal);
    private readonly FleetOptions _options = options.Value;
    private ImmutableArray<Action<DeviceEvent>> _subscribers = [];
    private long _eventsProcessed;
    private long _framesRejected;
    private long _connectionsRefused;
    private long _statusOverLimits;

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

    /// <summary>Connected here or, in a cluster, to another instance: a call to it can be made from here.</summary>
    public bool IsReachable(string id) => IsOnline(id) || Remote?.OwnerOf(id) is not null;

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

    /// <summary>Devices connected to other instances of a cluster (null: one process, the default).</summary>
    public IRemoteDevices? Remote { get; set; }

    /// <summary>The cluster instance holding the device (this one's name when connected here); null in a single process or when no instance holds it.</summary>
    public string? InstanceOf(string deviceId) => Remote is not { } remote ? null : IsOnline(deviceId) ? remote.Instance : remote.OwnerOf(deviceId);

    /// <summary>Hands an event of a device held by another instance to this instance's subscribers (the cluster calls it).</summary>
    internal void RaiseRemote(DeviceEvent e) => Raise(e);

    /// <summary>
    /// The device connected to another instance while its session here is still open (a stale socket the device left): this
    /// one is closed as replaced. The cluster has recorded the new owner first, so <see cref="Ended"/> keeps it online there.
    /// </summary>
    internal bool CloseMoved(string deviceId, string owner)
    {
        if (!_sessions.TryGetValue(deviceId, out var session) || session.IsClosed)
        {
            return false;
        }
        LogMoved(deviceId, owner);
        session.FrameSent = null;
        _ = session.CloseAsync(ClosedReplaced, $"Connected to instance {owner} now");
        return true;
    }

    /// <summary>
    /// Calls a method on a connected, admitted device. Offline → error -114 at once; no answer → -104 after the timeout. In a
    /// cluster, a device connected to another instance is called there (every RPC entry point comes through here). Each call
    /// is audited once, here, where the user made it.
    /// </summary>
    public async Task<JsonNode?> CallAsync(string deviceId, string method, JsonNode? parameters = null, TimeSpan? timeout = null, string? user = null, CancellationToken ct = default)
    {
        var here = _sessions.TryGetValue(deviceId, out var session) && session.Admitted;
        // A session closed because its device moved to another instance (the cluster names the new owner before closing it):
        // new calls follow the device there instead of failing on the closed socket.
        var owner = here && !session!.IsClosed ? null : Remote?.OwnerOf(deviceId);
        here &= owner is null;
        if (!here && owner is null)
        {
            var error = Offline(deviceId);
            audit.LogCommand(user, deviceId, method, parameters, false, error.Message, 0);
            throw error;
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var result = here
                ? await session!.CallAsync(method, parameters, timeout, ct).ConfigureAwait(false)
                : await Remote!.CallAsync(owner!, deviceId, method, parameters, timeout ?? _options.RpcTimeout, ct).ConfigureAwait(false);
            audit.LogCommand(user, deviceId, method, parameters, true, null, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return result;
        }
        catch (ShellyRpcException ex)
        {
            audit.LogCommand(user, deviceId, method, parameters, false, $"{ex.Code}: {ex.Message}", System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
    }

    /// <summary>
    /// Calls a device connected to this instance only, unaudited: the cluster serves another instance's call with it (never
    /// forwarded again), and that instance's <see cref="CallAsync"/> wrote the audit row.
    /// </summary>
    public Task<JsonNode?> CallHereAsync(string deviceId, string method, JsonNode? parameters, TimeSpan? timeout, CancellationToken ct) =>
        _sessions.TryGetValue(deviceId, out var session) && session.Admitted
            ? session.CallAsync(method, parameters, timeout, ct)
            : Task.FromException<JsonNode?>(Offline(deviceId));

    private ShellyRpcException Offline(string deviceId) =>
        new(ShellyRpcException.Unavailable, registry.Get(deviceId) is not null ? $"Device {deviceId} is offline" : $"Unknown device {deviceId}");

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
        if (known is { Mirrored: true })
        {
            // Held by another instance until now: its record first, then the same proof of identity as for a local device.
            await registry.AdoptMirrorAsync(known, aborted).ConfigureAwait(false);
        }
        if (known?.Admission == AdmissionStates.Accepted && !Proves(known, token, remote))
        {
            return (await ClaimAsync(socket, src, token, remote).ConfigureAwait(false), false, false);
        }
        var auto = _options.Admission.Equals("auto", StringComparison.OrdinalIgnoreCase);
        // A bound device's token was checked above (no database write per reconnect); others use it up here.
        var tokenValid = token is not null && known?.Admission != AdmissionStates.Denied && (known?.Admission != AdmissionStates.Accepted || known.TokenHash is null)
            && await tokens.UseTokenAsync(token, aborted).ConfigureAwait(false);
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
            eventLog.LogEvent(src, "admission", null, AdmissionStates.Accepted, token is null ? null : JsonValue.Create("token"));
            admitted = true;
        }
        if (tokenValid && state.TokenHash is null)
        {
            // The token that admitted (or first came with) this device is bound to its id: later connections must show it.
            state.TokenHash = EnrollmentTokenStore.HashToken(token!);
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
        Interlocked.Increment(ref _sessionsOpened);
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
            if (state.Transport != session.Transport)
            {
                state.Transport = session.Transport;
                state.Dirty = true;
            }
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
            // In a cluster the device may have moved: it reconnected to another instance, which announced it, and this
            // (stale) session was closed for it. It left here, but it is online there.
            var movedTo = Remote?.OwnerOf(session.Id);
            state.Online = movedTo is not null;
            state.LastSeen = DateTime.UtcNow;
            state.StatusDirty = true;
            if (session.Admitted)
            {
                eventLog.LogEvent(session.Id, "disconnect", null, null, null);
                Raise(new DeviceEvent(DeviceEventKind.Disconnect, session.Id, null, ShellyFrames.Now()));
                if (movedTo is not null)
                {
                    Raise(new DeviceEvent(DeviceEventKind.Connect, session.Id, null, ShellyFrames.Now()) { Instance = movedTo });
                }
            }
        }
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
