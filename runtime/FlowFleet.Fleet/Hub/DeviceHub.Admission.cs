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

/// <summary>Admitting a device: its identity reads (info, config, status, methods, dynamic components) and the operator accepting or denying it.</summary>
public sealed partial class DeviceHub
{
    private readonly SemaphoreSlim _identityReads = new(IdentityReadsAtOnce);

    /// <summary>Identity reads (four or five RPCs each) in flight at once across all devices.</summary>
    internal const int IdentityReadsAtOnce = 64;

    /// <summary>Marks a connected device admitted and reads its identity (also used when a pending device is accepted).</summary>
    private async Task AdmitAsync(DeviceSession session)
    {
        session.Admitted = true;
        session.State.Online = true;
        session.State.StatusDirty = true;
        eventLog.LogEvent(session.Id, "connect", null, null, session.RemoteAddress is null ? null : JsonValue.Create(session.RemoteAddress));
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
        // The status is applied where its reply is in the device's stream of frames: a NotifyStatus the device sends after
        // answering is newer and must not be overwritten when the other reads finish.
        var status = session.CallAsync("Shelly.GetStatus", null, null,
            reply => registry.ApplyIdentity(session.State, null, null, reply["result"] as JsonObject, null));
        var methods = session.CallAsync("Shelly.ListMethods");
        await Task.WhenAll(Quiet(info), Quiet(config), Quiet(status), Quiet(methods)).ConfigureAwait(false);
        var methodList = methods.IsCompletedSuccessfully && methods.Result.Field("methods") is JsonArray a ? JsonRead.Strings(a) : null;
        JsonObject? configObject = config.IsCompletedSuccessfully ? config.Result as JsonObject : null;
        if (methodList?.Contains("Shelly.GetComponents", StringComparer.OrdinalIgnoreCase) == true && configObject is not null)
        {
            await AddDynamicComponentsAsync(session, configObject).ConfigureAwait(false);
        }
        registry.ApplyIdentity(session.State, info.IsCompletedSuccessfully ? info.Result as JsonObject : null, configObject, null, methodList);
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
        eventLog.LogEvent(session.Id, "pending", null, null, null);
        Raise(new DeviceEvent(DeviceEventKind.Pending, session.Id, null, ShellyFrames.Now()));
    }

    /// <summary>
    /// Accepts a pending device: if it is connected it becomes online at once. In a cluster, a device waiting on another
    /// instance is accepted there (it holds the connection and admits it).
    /// </summary>
    public async Task AcceptAsync(string id, CancellationToken ct = default)
    {
        if (!WaitingHere(id) && Remote?.WaiterOf(id) is { } owner && await Remote.DecideAsync(owner, WaitingDecision.Accept, id, ct).ConfigureAwait(false))
        {
            return;
        }
        await AcceptHereAsync(id, ct).ConfigureAwait(false);
    }

    /// <summary>A connection of the device waits here for admission.</summary>
    public bool WaitingHere(string id) => _sessions.TryGetValue(id, out var s) && !s.Admitted && !s.IsClosed;

    /// <summary>
    /// Another instance's decision about a connection held here (see <see cref="IRemoteDevices.DecideAsync"/>); false when
    /// there is no such connection here (any more), so the asker decides on the stored record itself.
    /// </summary>
    public async Task<bool> DecideHereAsync(WaitingDecision decision, string target, CancellationToken ct)
    {
        switch (decision)
        {
            case WaitingDecision.Accept when WaitingHere(target):
                await AcceptHereAsync(target, ct).ConfigureAwait(false);
                return true;
            case WaitingDecision.Deny when _sessions.ContainsKey(target):
                await DenyHereAsync(target, ct).ConfigureAwait(false);
                return true;
            case WaitingDecision.AcceptClaim:
                return await AcceptClaimHereAsync(target).ConfigureAwait(false);
            case WaitingDecision.DenyClaim:
                return await DenyClaimHereAsync(target).ConfigureAwait(false);
            default:
                return false;
        }
    }

    private async Task AcceptHereAsync(string id, CancellationToken ct)
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

    /// <summary>
    /// Denies a device: it is told to stop connecting (<c>Ws.SetConfig {server:"#",enable:false}</c> + reboot) and disconnected
    /// — in a cluster by the instance it is connected to.
    /// </summary>
    public async Task DenyAsync(string id, CancellationToken ct = default)
    {
        if (!_sessions.ContainsKey(id) && Remote is { } remote && (remote.WaiterOf(id) ?? remote.OwnerOf(id)) is { } owner
            && await remote.DecideAsync(owner, WaitingDecision.Deny, id, ct).ConfigureAwait(false))
        {
            return;
        }
        await DenyHereAsync(id, ct).ConfigureAwait(false);
    }

    private async Task DenyHereAsync(string id, CancellationToken ct)
    {
        await registry.SetAdmissionAsync(id, AdmissionStates.Denied, ct).ConfigureAwait(false);
        if (_sessions.TryGetValue(id, out var s))
        {
            try
            {
                await s.CallAsync("Ws.SetConfig", StopConnecting(), TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
                await s.CallAsync("Shelly.Reboot", RebootSoon(), TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            }
            catch (ShellyRpcException ex)
            {
                LogIdentityFailed(id, ex.Message);
            }
            await s.CloseAsync(WebSocketCloseStatus.PolicyViolation, "Denied").ConfigureAwait(false);
        }
    }

    /// <summary>The <c>Ws.SetConfig</c> a denied device (or claim) is sent: no outbound server any more.</summary>
    private static JsonObject StopConnecting() => new() { ["config"] = new JsonObject { ["server"] = "#", ["enable"] = false } };

    /// <summary>The <c>Shelly.Reboot</c> that applies <see cref="StopConnecting"/> (the device asks for a restart).</summary>
    private static JsonObject RebootSoon() => new() { ["delay_ms"] = 1000 };

    private async Task TellToLeaveAsync(WebSocket socket, string id)
    {
        try
        {
            var source = DeviceSession.SourceOf(socket, _options);
            var send = async (JsonObject f) => await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(f), WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
            await send(ShellyFrames.Request(1, source, "Ws.SetConfig", StopConnecting())).ConfigureAwait(false);
            await send(ShellyFrames.Request(2, source, "Shelly.Reboot", RebootSoon())).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException)
        {
        }
        LogDenied(id);
        await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, "Denied").ConfigureAwait(false);
    }
}
