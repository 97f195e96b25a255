using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.Fleet.Hub;

/// <summary>RPCs to devices: every entry point (REST, <c>/client</c>, flow nodes, the UI, Mass RPC) calls through here, locally or to the owning instance of a cluster, audited once.</summary>
public sealed partial class DeviceHub
{
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
}
