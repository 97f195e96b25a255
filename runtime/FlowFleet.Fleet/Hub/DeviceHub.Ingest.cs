using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// A device's frames after the first, read from the parsed document over the receive buffer (issue 19): the status merges
/// into the device's stored bytes from the document, and JSON trees are built only for whoever reads them — an event's
/// <see cref="DeviceEvent.Data"/> is built on first read and shared, replies and events to log are built as before.
/// </summary>
public sealed partial class DeviceHub
{
    // The methods devices send: one string each, not one per frame.
    private const string NotifyStatus = "NotifyStatus", NotifyFullStatus = "NotifyFullStatus", NotifyEvent = "NotifyEvent";

    private void HandleFrame(DeviceSession session, ReadOnlySpan<byte> message, JsonElement frame)
    {
        var state = session.State;
        var now = DateTime.UtcNow;
        state.LastSeen = now;
        if (!frame.TryGetProperty("method"u8, out var methodValue) || methodValue.ValueKind != JsonValueKind.String)
        {
            // A reply. Some firmware answers with neither result nor error (a null result left out): that is still the
            // answer, not a reason to wait for the timeout.
            if (Member(frame, "id"u8, out _))
            {
                var reply = (JsonObject)JsonNode.Parse(message)!;
                // A claim's frames are not the device's: they stay out of the Data page and flows.
                if (WantsMessages && session.Claim is null)
                {
                    Raise(new DeviceEvent(DeviceEventKind.Message, session.Id, reply, ShellyFrames.Now()));
                }
                session.Complete(reply);
            }
            return;
        }
        Interlocked.Increment(ref _eventsProcessed);
        // Compared as UTF-8: a string argument is transcoded on every call.
        var method = methodValue.ValueEquals("NotifyStatus"u8) ? NotifyStatus
            : methodValue.ValueEquals("NotifyFullStatus"u8) ? NotifyFullStatus
            : methodValue.ValueEquals("NotifyEvent"u8) ? NotifyEvent
            : methodValue.GetString()!;
        var hasParams = frame.TryGetProperty("params"u8, out var p) && p.ValueKind == JsonValueKind.Object;
        var ts = hasParams && p.TryGetProperty("ts"u8, out var tsValue) && tsValue.ValueKind == JsonValueKind.Number
            && tsValue.TryGetDouble(out var t) && double.IsFinite(t) ? t : ShellyFrames.Now();
        if (WantsMessages && session.Claim is null)
        {
            Raise(new DeviceEvent(DeviceEventKind.Message, session.Id, ts, message.ToArray()) { Method = method });
        }
        if (!session.Admitted)
        {
            // A device waiting for admission keeps a few KiB of status at most: it is read in full once accepted.
            if (method is NotifyStatus or NotifyFullStatus && hasParams)
            {
                lock (state.Gate)
                {
                    // Cut short silently: a real device's full status may well pass a pending device's few KiB.
                    if (state.MergeStatus(p, PendingLimits) > 0)
                    {
                        Interlocked.Increment(ref _statusOverLimits);
                    }
                }
            }
            return;
        }
        switch (method)
        {
            case NotifyStatus or NotifyFullStatus when hasParams:
                OnStatus(session, p, method == NotifyFullStatus, ts, now);
                break;
            case NotifyEvent when hasParams && p.TryGetProperty("events"u8, out var events) && events.ValueKind == JsonValueKind.Array:
                foreach (var item in events.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object)
                    {
                        continue;
                    }
                    var component = Text(item, "component"u8);
                    var name = Text(item, "event"u8);
                    var e = new DeviceEvent(DeviceEventKind.Event, session.Id, ts, JsonMarshal.GetRawUtf8Value(item).ToArray()) { Component = component, Method = name };
                    // The event log keeps the event's text: the tree built for it is the one subscribers share.
                    eventLog.LogEvent(session.Id, "event", component, name, e.Data);
                    Raise(e);
                    if (name == "config_changed" && component is not null)
                    {
                        _ = RereadConfigAsync(session, component);
                    }
                }
                break;
            default:
                if (Member(frame, "id"u8, out var id))
                {
                    // Devices don't call the server; answer politely so a script's call doesn't hang.
                    var reply = new JsonObject { ["id"] = JsonNode.Parse(JsonMarshal.GetRawUtf8Value(id)), ["src"] = _options.Source, ["dst"] = session.Id, ["error"] = new JsonObject { ["code"] = 404, ["message"] = $"No handler for {method}" } };
                    _ = SendQuietly(session, reply);
                }
                break;
        }
    }

    private void OnStatus(DeviceSession session, JsonElement status, bool full, double ts, DateTime now)
    {
        var state = session.State;
        int dropped;
        bool configChanged;
        lock (state.Gate)
        {
            configChanged = ConfigRevisionChanged(state, status);
            if (!full && status.TryGetProperty("sys"u8, out var sys) && sys.ValueKind == JsonValueKind.Object
                && sys.TryGetProperty("available_updates"u8, out var updates) && updates.ValueKind == JsonValueKind.Object)
            {
                // The list of updates is a whole: an update that is no longer offered must go, not linger merged.
                state.MergeStatus(new JsonObject { ["sys"] = new JsonObject { ["available_updates"] = null } }, Limits);
            }
            dropped = full ? state.ReplaceStatus(status, Limits) : state.MergeStatus(status, Limits);
            state.StatusDirty = true;
        }
        if (configChanged)
        {
            _ = RereadAllConfigAsync(session);
        }
        if (CountDropped(session, dropped))
        {
            // Over the limits: what fit is kept, nothing is passed on (flows, clients, telemetry).
            return;
        }
        // The event owns a copy of the report's element (its bytes and index): flows read its components without parsing
        // them again (shelly in), the delta's JSON is written only for whoever asks (the cluster's fan-out).
        var e = new DeviceEvent(DeviceEventKind.Status, session.Id, ts, status.Clone()) { State = session.Claim is null ? state : null };
        // Telemetry samples a device once per interval: only then does it need the delta as a tree.
        // The frame's own clock reading (one per frame): Unix milliseconds as DateTimeOffset.ToUnixTimeMilliseconds counts them.
        if ((now.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond - state.LastTelemetryMs >= _options.TelemetryInterval.TotalMilliseconds
            && e.Data is JsonObject delta)
        {
            telemetry.RecordTelemetry(state, delta);
        }
        Raise(e);
    }

    /// <summary>A new <c>sys.cfg_rev</c> in a status report (the cached config is then stale).</summary>
    private static bool ConfigRevisionChanged(DeviceState state, JsonElement status)
    {
        if (!status.TryGetProperty("sys"u8, out var sys) || sys.ValueKind == JsonValueKind.Null)
        {
            return false;
        }
        if (sys.ValueKind != JsonValueKind.Object)
        {
            // As reading it as a tree does (and the frame is refused as not understood).
            throw new InvalidOperationException("sys is not an object");
        }
        if (!sys.TryGetProperty("cfg_rev"u8, out var rev) || rev.ValueKind is JsonValueKind.Null or JsonValueKind.Object or JsonValueKind.Array
            || !state.HasStatus("sys"))
        {
            return false;
        }
        var cached = state.StatusOf("sys")?["cfg_rev"];
        return cached is not null && !JsonNode.DeepEquals(cached, JsonNode.Parse(JsonMarshal.GetRawUtf8Value(rev)));
    }

    /// <summary>A member that is there and not JSON null (as <c>frame["id"] is not null</c> reads it).</summary>
    private static bool Member(JsonElement o, ReadOnlySpan<byte> name, out JsonElement value) =>
        o.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    /// <summary>A string member, or null (as <see cref="JsonRead.Text"/>).</summary>
    private static string? Text(JsonElement o, ReadOnlySpan<byte> name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
