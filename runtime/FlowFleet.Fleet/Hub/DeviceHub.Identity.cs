using System.Collections.Concurrent;
using System.Net.WebSockets;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Hub;

/// <summary>A connection that claimed an accepted device's id without proving it (shown in the waiting room).</summary>
public sealed record DeviceClaim(string Id, string? Remote, DateTime At);

public sealed partial class DeviceHub
{
    private readonly ConcurrentDictionary<(string Id, string? Remote), DeviceClaim> _claims = new();
    private readonly ConcurrentDictionary<string, (long Since, int Count)> _newIds = new(StringComparer.Ordinal);
    private long _impostors;

    /// <summary>Unproven claims on accepted ids, newest first (at most a thousand are kept).</summary>
    public IReadOnlyList<DeviceClaim> Claims => _claims.Values.OrderByDescending(c => c.At).ToList();

    /// <summary>Connections refused because they claimed an accepted device's id without proof.</summary>
    public long Impostors => Interlocked.Read(ref _impostors);

    /// <summary>
    /// Whether a connection may speak for an accepted device (issue 13): with the enrollment token that admitted it (bound to
    /// the id when it was used), or — for a device accepted without a token — only while that device is not connected from
    /// another address. Anything else is an impostor: the real device stays connected and its record untouched.
    /// </summary>
    private bool Proves(DeviceState state, string? token, string? remote)
    {
        if (state.TokenHash is { } bound)
        {
            return token is not null && string.Equals(DeviceRegistry.HashToken(token), bound, StringComparison.Ordinal);
        }
        return !_sessions.TryGetValue(state.Id, out var current) || current.IsClosed || !current.Admitted
            || string.Equals(current.RemoteAddress, remote, StringComparison.Ordinal);
    }

    /// <summary>Records an unproven claim and turns the connection away (1008); the device it claimed is not touched.</summary>
    private async Task RefuseImpostorAsync(WebSocket socket, string id, string? remote)
    {
        Interlocked.Increment(ref _impostors);
        if (_claims.Count >= 1000)
        {
            _claims.Clear();
        }
        _claims[(id, remote)] = new DeviceClaim(id, remote, DateTime.UtcNow);
        registry.LogEvent(id, "claim", null, "refused", remote is null ? null : System.Text.Json.Nodes.JsonValue.Create(remote));
        LogImpostor(id, remote);
        Raise(new DeviceEvent(DeviceEventKind.Pending, id, null, Protocol.ShellyFrames.Now()));
        await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, "This device id is registered: connect with the enrollment token that admitted it").ConfigureAwait(false);
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
        return registry.All.Count(d => d.Admission == AdmissionStates.Pending) >= _options.MaxPendingDevices ? "The waiting room is full" : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A connection from {Remote} claimed accepted device {Id} without its enrollment token: refused, the device is untouched")]
    private partial void LogImpostor(string id, string? remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "New device {Id} from {Remote} refused: {Reason}")]
    private partial void LogPendingRefused(string id, string? remote, string reason);
}
