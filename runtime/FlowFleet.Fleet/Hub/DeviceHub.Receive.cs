using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Hub;

public sealed partial class DeviceHub
{
    private enum ReadOutcome
    {
        Frame,
        Closed,
        BadJson,
        TooBig,
        Timeout,
        Stalled,
        BadUtf8,
    }

    private async Task ReceiveLoopAsync(DeviceSession session, CancellationToken aborted)
    {
        var socket = session.Socket;
        while (!aborted.IsCancellationRequested)
        {
            // No token: a dropped or aborted connection ends the read anyway, and a token would add a registration to
            // every idle device's pending read. The wait for the next frame is here rather than in ReadFrameAsync, so an
            // idle device holds this loop's state only.
            try
            {
                if ((await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).ConfigureAwait(false)).MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }
            var (outcome, frame) = await ReadFrameAsync(socket, CancellationToken.None, waited: true).ConfigureAwait(false);
            if (outcome == ReadOutcome.Closed || aborted.IsCancellationRequested)
            {
                // Closed, or the connection dropped (a battery device going to sleep does exactly that).
                return;
            }
            if (outcome != ReadOutcome.Frame)
            {
                Interlocked.Increment(ref _framesRejected);
                await RejectAsync(socket, outcome, session.Id).ConfigureAwait(false);
                session.MarkClosed();
                return;
            }
            if (!session.CountFrame())
            {
                Interlocked.Increment(ref _framesRejected);
                LogRateLimited(session.Id, _options.RateLimitPerMinute);
                await session.CloseAsync(WebSocketCloseStatus.PolicyViolation, $"Rate limit: more than {_options.RateLimitPerMinute} frames/min").ConfigureAwait(false);
                await DrainAsync(socket).ConfigureAwait(false);
                return;
            }
            try
            {
                HandleFrame(session, frame!);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or JsonException or OverflowException)
            {
                // A shape no reader foresaw: this device is told so (1007) and logged in one line; nobody else notices.
                Interlocked.Increment(ref _framesRejected);
                LogRejected(session.Id, "frame not understood: " + ex.Message);
                await session.CloseAsync(WebSocketCloseStatus.InvalidPayloadData, "Frame not understood").ConfigureAwait(false);
                await DrainAsync(socket).ConfigureAwait(false);
                session.MarkClosed();
                return;
            }
        }
    }

    private void HandleFrame(DeviceSession session, JsonObject frame)
    {
        var state = session.State;
        state.LastSeen = DateTime.UtcNow;
        if (frame["method"] is not JsonValue mv || !mv.TryGetValue<string>(out var method))
        {
            // A reply. Some firmware answers with neither result nor error (a null result left out): that is still the
            // answer, not a reason to wait for the timeout.
            if (frame["id"] is not null)
            {
                // A claim's frames are not the device's: they stay out of the Data page and flows.
                if (WantsMessages && session.Claim is null)
                {
                    Raise(new DeviceEvent(DeviceEventKind.Message, session.Id, frame, ShellyFrames.Now()));
                }
                session.Complete(frame);
            }
            return;
        }
        Interlocked.Increment(ref _eventsProcessed);
        var ts = JsonRead.Number(frame["params"].Field("ts")) ?? ShellyFrames.Now();
        if (WantsMessages && session.Claim is null)
        {
            Raise(new DeviceEvent(DeviceEventKind.Message, session.Id, frame, ts) { Method = method });
        }
        if (!session.Admitted)
        {
            // A device waiting for admission keeps a few KiB of status at most: it is read in full once accepted.
            if (method is "NotifyStatus" or "NotifyFullStatus" && frame["params"] is JsonObject pending)
            {
                lock (state.Gate)
                {
                    // Cut short silently: a real device's full status may well pass a pending device's few KiB.
                    if (state.MergeStatus(pending, PendingLimits) > 0)
                    {
                        Interlocked.Increment(ref _statusOverLimits);
                    }
                }
            }
            return;
        }
        switch (method)
        {
            case "NotifyStatus" or "NotifyFullStatus" when frame["params"] is JsonObject status:
                status.Remove("ts");
                int dropped;
                var configChanged = false;
                lock (state.Gate)
                {
                    configChanged = ConfigRevisionChanged(state, status);
                    if (method != "NotifyFullStatus" && status["sys"] is JsonObject sys && sys["available_updates"] is JsonObject)
                    {
                        // The list of updates is a whole: an update that is no longer offered must go, not linger merged.
                        state.MergeStatus(new JsonObject { ["sys"] = new JsonObject { ["available_updates"] = null } }, Limits);
                    }
                    dropped = method == "NotifyFullStatus" ? state.ReplaceStatus(status, Limits) : state.MergeStatus(status, Limits);
                    state.StatusDirty = true;
                }
                if (configChanged)
                {
                    _ = RereadAllConfigAsync(session);
                }
                if (CountDropped(session, dropped))
                {
                    // Over the limits: what fit is kept, nothing is passed on (flows, clients, telemetry).
                    break;
                }
                registry.RecordTelemetry(state, status);
                Raise(new DeviceEvent(DeviceEventKind.Status, session.Id, status, ts));
                break;
            case "NotifyEvent" when frame["params"].Field("events") is JsonArray events:
                foreach (var e in events.OfType<JsonObject>())
                {
                    var component = JsonRead.Text(e.Field("component"));
                    var name = JsonRead.Text(e.Field("event"));
                    registry.LogEvent(session.Id, "event", component, name, e);
                    Raise(new DeviceEvent(DeviceEventKind.Event, session.Id, e, ts) { Component = component, Method = name });
                    if (name == "config_changed" && component is not null)
                    {
                        _ = RereadConfigAsync(session, component);
                    }
                }
                break;
            default:
                if (frame["id"] is not null)
                {
                    // Devices don't call the server; answer politely so a script's call doesn't hang.
                    var reply = new JsonObject { ["id"] = frame["id"]!.DeepClone(), ["src"] = _options.Source, ["dst"] = session.Id, ["error"] = new JsonObject { ["code"] = 404, ["message"] = $"No handler for {method}" } };
                    _ = SendQuietly(session, reply);
                }
                break;
        }
    }

    private StatusLimits? _limits;
    private StatusLimits? _pendingLimits;

    private StatusLimits Limits => _limits ??= _options.StatusLimits;

    private StatusLimits PendingLimits => _pendingLimits ??= _options.PendingStatusLimits;

    /// <summary>Counts and logs a status report that went over the device's limits; true when it did.</summary>
    private bool CountDropped(DeviceSession session, int dropped)
    {
        if (dropped == 0)
        {
            return false;
        }
        Interlocked.Increment(ref _framesRejected);
        Interlocked.Increment(ref _statusOverLimits);
        LogStatusOverLimits(session.Id, dropped);
        return true;
    }

    private static async Task SendQuietly(DeviceSession session, JsonObject frame)
    {
        try
        {
            await session.SendAsync(frame).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
