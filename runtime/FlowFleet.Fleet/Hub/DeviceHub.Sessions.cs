using System.Net.WebSockets;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using Microsoft.AspNetCore.Http;

namespace FlowFleet.Fleet.Hub;

/// <summary>A device connecting on <c>/shelly</c>: its first frame, the admission decision, its session until the socket ends, and closing a stale session of a device that moved.</summary>
public sealed partial class DeviceHub
{
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
}
