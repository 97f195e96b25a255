using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// A connection in the waiting room that claims the id of an accepted device without proving it (issue 13 item 8). It is
/// held apart from the device: the real device keeps its session and record; what the claimant reports (its device info)
/// is shown here only. <see cref="Key"/> names it for accepting (it becomes the device) or denying.
/// </summary>
public sealed record DeviceClaim(string Key, string Id, string? Remote, DateTime At, bool WithToken, string? Model, string? App, string? Firmware, string? Mac)
{
    /// <summary>In a cluster, the instance holding the claiming connection when it is another one (decisions go there).</summary>
    public string? Instance { get; init; }

    /// <summary>How the waiting room marks a claim.</summary>
    public const string Marker = "claims the id of an existing device";
}

/// <summary>A claim's live part: its own session over a throwaway state (never the registry's).</summary>
internal sealed class ClaimedSession(string key, string? token)
{
    public string Key { get; } = key;

    public string? Token { get; } = token;

    public DateTime At { get; } = DateTime.UtcNow;

    public volatile JsonObject? Info;

    public int Decided;
}

public sealed partial class DeviceHub
{
    private readonly ConcurrentDictionary<string, DeviceSession> _claims = new(StringComparer.Ordinal);
    // Claims an operator denied, by (id, address): turned away at once for a day rather than queued again.
    private readonly ConcurrentDictionary<(string Id, string? Remote), long> _deniedClaims = new();
    private readonly ConcurrentDictionary<string, (long Since, int Count)> _newIds = new(StringComparer.Ordinal);
    private long _impostors;

    /// <summary>
    /// Connections waiting with an unproven claim on an accepted device's id, newest first — in a cluster those of every
    /// instance (decided on the instance holding them).
    /// </summary>
    public IReadOnlyList<DeviceClaim> Claims => LocalClaims.Concat(Remote?.Claims ?? []).OrderByDescending(c => c.At).ToList();

    /// <summary>The claims held by this instance (what it announces to the others in a cluster).</summary>
    public IEnumerable<DeviceClaim> LocalClaims => _claims.Select(static c => c.Value).Where(s => !s.IsClosed && s.Claim is not null).Select(s => ClaimOf(s));

    /// <summary>
    /// What the waiting room holds for this user: pending devices they may reach, and — for users not limited to groups, who
    /// alone can see them — the claims on accepted devices' ids.
    /// </summary>
    public int Waiting(DeviceAccess access)
    {
        ArgumentNullException.ThrowIfNull(access);
        var within = access.Devices(groups);
        var pending = registry.All.Count(d => d.Admission == AdmissionStates.Pending && (within is null || within.Contains(d.Id)));
        return access.Limited ? pending : pending + _claims.Count(static c => !c.Value.IsClosed && c.Value.Claim is not null) + (Remote?.Claims.Count ?? 0);
    }

    /// <summary>Connections that claimed an accepted device's id without proof (waiting room or turned away).</summary>
    public long Impostors => Interlocked.Read(ref _impostors);

    private static DeviceClaim ClaimOf(DeviceSession s)
    {
        var c = s.Claim!;
        var info = c.Info;
        return new DeviceClaim(c.Key, s.Id, s.RemoteAddress, c.At, c.Token is not null, JsonRead.Text(info.Field("model")), JsonRead.Text(info.Field("app")),
            JsonRead.Text(info.Field("ver")), JsonRead.Text(info.Field("mac")));
    }

    /// <summary>
    /// Whether a connection may speak for an accepted device (issue 13): with the enrollment token that admitted it (bound to
    /// the id when it was used), or — for a device accepted without a token — from the address it is connected from or last
    /// connected from. Anything else is a claim for the waiting room: the real device stays connected and its record untouched.
    /// </summary>
    private bool Proves(DeviceState state, string? token, string? remote)
    {
        if (state.TokenHash is { } bound)
        {
            return token is not null && string.Equals(EnrollmentTokenStore.HashToken(token), bound, StringComparison.Ordinal);
        }
        if (_sessions.TryGetValue(state.Id, out var current) && !current.IsClosed && current.Admitted)
        {
            return string.Equals(current.RemoteAddress, remote, StringComparison.Ordinal);
        }
        // Offline: only from where it was. A device never seen connected since it was accepted binds its first address.
        return state.BoundAddress is null || string.Equals(state.BoundAddress, remote, StringComparison.Ordinal);
    }

    /// <summary>
    /// Puts an unproven claim in the waiting room: a session of its own over a throwaway state, so nothing it sends reaches the
    /// device's record, events or flows. Null (and the connection closed) when the waiting room can't take it.
    /// </summary>
    private async Task<DeviceSession?> ClaimAsync(WebSocket socket, string id, string? token, string? remote)
    {
        Interlocked.Increment(ref _impostors);
        if (_deniedClaims.TryGetValue((id, remote), out var deniedAt) && Environment.TickCount64 - deniedAt < 86_400_000)
        {
            // Denied already: turned away without another event (a denied claimant may retry every second).
            Interlocked.Increment(ref _connectionsRefused);
            await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, "Denied").ConfigureAwait(false);
            return null;
        }
        eventLog.LogEvent(id, "claim", null, "waiting", remote is null ? null : JsonValue.Create(remote));
        LogImpostor(id, remote);
        if (RefuseNewPending(remote) is { } refusal)
        {
            Interlocked.Increment(ref _connectionsRefused);
            LogPendingRefused(id, remote, refusal);
            await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, refusal).ConfigureAwait(false);
            return null;
        }
        var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var session = new DeviceSession(new DeviceState(id), socket, _options, remote) { Claim = new ClaimedSession(key, token) };
        _claims[key] = session;
        EnsureSweep();
        return session;
    }

    /// <summary>Serves a claim until it closes; once accepted it goes on as the device's session.</summary>
    private async Task RunClaimAsync(DeviceSession session, CancellationToken aborted)
    {
        var claim = session.Claim!;
        Raise(new DeviceEvent(DeviceEventKind.Pending, session.Id, null, ShellyFrames.Now()));
        var identify = IdentifyClaimAsync(session, claim);
        try
        {
            await ReceiveLoopAsync(session, aborted).ConfigureAwait(false);
        }
        finally
        {
            session.MarkClosed();
            await identify.ConfigureAwait(false);
            _claims.TryRemove(new KeyValuePair<string, DeviceSession>(claim.Key, session));
            Ended(session);
            Raise(new DeviceEvent(DeviceEventKind.Pending, session.Id, null, ShellyFrames.Now()));
        }
    }

    private async Task IdentifyClaimAsync(DeviceSession session, ClaimedSession claim)
    {
        try
        {
            claim.Info = await session.CallAsync("Shelly.GetDeviceInfo").ConfigureAwait(false) as JsonObject;
            Raise(new DeviceEvent(DeviceEventKind.Pending, session.Id, null, ShellyFrames.Now()));
        }
        catch (ShellyRpcException ex)
        {
            LogIdentityFailed(session.Id, ex.Message);
        }
    }

    /// <summary>
    /// Accepts a claim: the claimant becomes the device (its connection replaces the device's current one, its token — or
    /// its address — is the device's proof from now on) and its identity is read afresh. False when there is no such claim.
    /// </summary>
    public async Task<bool> AcceptClaimAsync(string key) =>
        await DecideRemotelyAsync(WaitingDecision.AcceptClaim, key).ConfigureAwait(false) ?? await AcceptClaimHereAsync(key).ConfigureAwait(false);

    /// <summary>
    /// A claim held by another instance of the cluster is decided there (it holds the connection): its answer, or null when
    /// the claim is not another instance's (decided here, as without a cluster).
    /// </summary>
    private async Task<bool?> DecideRemotelyAsync(WaitingDecision decision, string key)
    {
        if (_claims.ContainsKey(key) || Remote is not { } remote || remote.Claims.FirstOrDefault(c => c.Key == key)?.Instance is not { } owner)
        {
            return null;
        }
        return await remote.DecideAsync(owner, decision, key, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task<bool> AcceptClaimHereAsync(string key)
    {
        if (!_claims.TryGetValue(key, out var session) || session.IsClosed || session.Claim is not { } claim || Interlocked.Exchange(ref claim.Decided, 1) != 0)
        {
            return false;
        }
        var state = registry.Get(session.Id);
        if (state is null)
        {
            // The device was deleted meanwhile: the claimant is simply a new device now.
            await session.CloseAsync(ClosedReplaced, "Reconnect").ConfigureAwait(false);
            return true;
        }
        var validToken = claim.Token is not null && await tokens.UseTokenAsync(claim.Token).ConfigureAwait(false);
        lock (state.Gate)
        {
            state.TokenHash = validToken ? EnrollmentTokenStore.HashToken(claim.Token!) : null;
            state.BoundAddress = session.RemoteAddress;
            state.Admission = AdmissionStates.Accepted;
            state.Ip = session.RemoteAddress ?? state.Ip;
            state.Transport = session.Transport;
            state.Dirty = true;
        }
        eventLog.LogEvent(session.Id, "claim", null, "accepted", session.RemoteAddress is null ? null : JsonValue.Create(session.RemoteAddress));
        session.State = state;
        session.Claim = null;
        _claims.TryRemove(new KeyValuePair<string, DeviceSession>(key, session));
        if (_sessions.TryGetValue(session.Id, out var old))
        {
            old.FrameSent = null;
            _ = old.CloseAsync(ClosedReplaced, "Replaced: the operator accepted another connection for this device");
        }
        _sessions[session.Id] = session;
        session.FrameSent = _onFrameSent ??= OnFrameSent;
        session.Credentials = Credentials;
        await AdmitAsync(session).ConfigureAwait(false);
        return true;
    }

    /// <summary>Denies a claim: the claimant is told to stop connecting and closed; the device it claimed is not touched.</summary>
    public async Task<bool> DenyClaimAsync(string key) =>
        await DecideRemotelyAsync(WaitingDecision.DenyClaim, key).ConfigureAwait(false) ?? await DenyClaimHereAsync(key).ConfigureAwait(false);

    private async Task<bool> DenyClaimHereAsync(string key)
    {
        if (!_claims.TryGetValue(key, out var session) || session.Claim is not { } claim || Interlocked.Exchange(ref claim.Decided, 1) != 0)
        {
            return false;
        }
        if (_deniedClaims.Count > 10_000)
        {
            _deniedClaims.Clear();
        }
        _deniedClaims[(session.Id, session.RemoteAddress)] = Environment.TickCount64;
        eventLog.LogEvent(session.Id, "claim", null, "denied", session.RemoteAddress is null ? null : JsonValue.Create(session.RemoteAddress));
        try
        {
            await session.CallAsync("Ws.SetConfig", StopConnecting(), TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (ShellyRpcException ex)
        {
            LogIdentityFailed(session.Id, ex.Message);
        }
        await session.CloseAsync(WebSocketCloseStatus.PolicyViolation, "Denied").ConfigureAwait(false);
        return true;
    }

    /// <summary>Null when a new, unadmitted id may wait in the waiting room; otherwise why not (full, or too many new ids
    /// from this address this minute).</summary>
    private string? RefuseNewPending(string? remote)
    {
        // A minute from the address's first new id (not a clock minute: a burst across a boundary would get twice the budget).
        var now = Environment.TickCount64;
        var key = remote ?? "";
        if (_newIds.Count > 10_000)
        {
            _newIds.Clear();
        }
        var (_, count) = _newIds.AddOrUpdate(key, _ => (now, 1), (_, v) => now - v.Since < 60_000 ? (v.Since, v.Count + 1) : (now, 1));
        if (count > _options.MaxNewDevicesPerMinutePerAddress)
        {
            return $"More than {_options.MaxNewDevicesPerMinutePerAddress} new device ids a minute from this address";
        }
        return registry.All.Count(d => d.Admission == AdmissionStates.Pending) + _claims.Count >= _options.MaxPendingDevices ? "The waiting room is full" : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A connection from {Remote} claims accepted device {Id} without proof (its enrollment token or address): it waits in the waiting room, the device is untouched")]
    private partial void LogImpostor(string id, string? remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "New device {Id} from {Remote} refused: {Reason}")]
    private partial void LogPendingRefused(string id, string? remote, string reason);
}
