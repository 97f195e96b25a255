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

    /// <summary>True when a status report carries a <c>sys.cfg_rev</c> other than the cached one (config changed on the device,
    /// e.g. from its own web page, possibly without a <c>config_changed</c> event reaching us).</summary>
    private static bool ConfigRevisionChanged(DeviceState state, JsonObject status)
    {
        if (status["sys"]?["cfg_rev"] is not JsonValue rev || !state.HasStatus("sys"))
        {
            return false;
        }
        var cached = state.StatusOf("sys")?["cfg_rev"];
        return cached is not null && !JsonNode.DeepEquals(cached, rev);
    }

    /// <summary>Re-reads the whole config (<c>Shelly.GetConfig</c> plus dynamic components) after <c>sys.cfg_rev</c> changed.</summary>
    private async Task RereadAllConfigAsync(DeviceSession session)
    {
        try
        {
            var config = await session.CallAsync("Shelly.GetConfig").ConfigureAwait(false) as JsonObject;
            if (config is null)
            {
                return;
            }
            if (session.State.Methods.Contains("Shelly.GetComponents", StringComparer.OrdinalIgnoreCase))
            {
                await AddDynamicComponentsAsync(session, config).ConfigureAwait(false);
            }
            registry.ApplyIdentity(session.State, null, config, null, null);
            Raise(new DeviceEvent(DeviceEventKind.Config, session.Id, null, ShellyFrames.Now()));
        }
        catch (ShellyRpcException ex)
        {
            LogIdentityFailed(session.Id, ex.Message);
        }
    }

    /// <summary>Re-reads a component's config after <c>config_changed</c> (device info too for <c>sys</c>).</summary>
    private async Task RereadConfigAsync(DeviceSession session, string component)
    {
        try
        {
            var colon = component.IndexOf(':', StringComparison.Ordinal);
            var type = colon < 0 ? component : component[..colon];
            var typeName = TypeName(component);
            JsonObject? p = colon < 0 ? null : new JsonObject { ["id"] = int.Parse(component[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture) };
            var config = await session.CallAsync($"{typeName}.GetConfig", p).ConfigureAwait(false);
            JsonObject? info = type == "sys" ? await session.CallAsync("Shelly.GetDeviceInfo").ConfigureAwait(false) as JsonObject : null;
            lock (session.State.Gate)
            {
                session.State.SetConfigComponent(component, config);
            }
            registry.ApplyIdentity(session.State, info, null, null, null);
            Raise(new DeviceEvent(DeviceEventKind.Config, session.Id, null, ShellyFrames.Now()) { Component = component });
            if (info is not null)
            {
                Raise(new DeviceEvent(DeviceEventKind.Info, session.Id, null, ShellyFrames.Now()));
            }
        }
        catch (Exception ex) when (ex is ShellyRpcException or FormatException)
        {
            LogIdentityFailed(session.Id, ex.Message);
        }
    }

    /// <summary>Brings a device to its desired state: outputs, brightness, cover position, then config differences.</summary>
    public async Task<IReadOnlyList<string>> ApplyDesiredAsync(string id, CancellationToken ct = default)
    {
        var state = registry.Get(id);
        if (state is null || !IsOnline(id))
        {
            return [];
        }
        List<(string Method, JsonObject Params)> calls = [];
        lock (state.Gate)
        {
            if (state.Desired is null)
            {
                return [];
            }
            foreach (var (key, value) in state.Desired)
            {
                if (value is not JsonObject want)
                {
                    continue;
                }
                if (key == "config")
                {
                    foreach (var (comp, cfg) in want)
                    {
                        if (cfg is JsonObject c && Differs(c, state.Config?[comp] as JsonObject))
                        {
                            calls.Add(($"{TypeName(comp)}.SetConfig", IdParams(comp, new JsonObject { ["config"] = c.DeepClone() })));
                        }
                    }
                    continue;
                }
                var reported = state.StatusOf(key) as JsonObject;
                if (key.StartsWith("switch:", StringComparison.Ordinal) && want["output"] is JsonValue so && Differs(want, reported, "output"))
                {
                    calls.Add(("Switch.Set", IdParams(key, new JsonObject { ["on"] = so.DeepClone() })));
                }
                else if (key.StartsWith("light:", StringComparison.Ordinal) && (Differs(want, reported, "output") || Differs(want, reported, "brightness")))
                {
                    var p = IdParams(key, []);
                    if (want["output"] is { } lo)
                    {
                        p["on"] = lo.DeepClone();
                    }
                    if (want["brightness"] is { } b)
                    {
                        p["brightness"] = b.DeepClone();
                    }
                    calls.Add(("Light.Set", p));
                }
                else if (key.StartsWith("cover:", StringComparison.Ordinal) && want["current_pos"] is { } pos && Differs(want, reported, "current_pos"))
                {
                    calls.Add(("Cover.GoToPosition", IdParams(key, new JsonObject { ["pos"] = pos.DeepClone() })));
                }
            }
        }
        var done = new List<string>();
        foreach (var (method, p) in calls)
        {
            try
            {
                await CallAsync(id, method, p, user: "shadow", ct: ct).ConfigureAwait(false);
                done.Add(method);
            }
            catch (ShellyRpcException ex)
            {
                LogIdentityFailed(id, $"desired state: {method} failed: {ex.Message}");
            }
        }
        return done;
    }

    private static bool Differs(JsonObject want, JsonObject? reported, string key) =>
        want[key] is { } w && !JsonNode.DeepEquals(w, reported?[key]);

    private static bool Differs(JsonObject want, JsonObject? reported) => want.Any(kv => kv.Value is JsonObject o
        ? Differs(o, reported?[kv.Key] as JsonObject)
        : !JsonNode.DeepEquals(kv.Value, reported?[kv.Key]));

    /// <summary><c>switch:0</c> → <c>Switch</c>, <c>wifi</c> → <c>WiFi</c>.</summary>
    public static string TypeName(string component)
    {
        var colon = component.IndexOf(':', StringComparison.Ordinal);
        var type = colon < 0 ? component : component[..colon];
        return type switch { "sys" => "Sys", "wifi" => "WiFi", "ws" => "Ws", "ble" => "BLE", "mqtt" => "Mqtt", "em" => "EM", "emdata" => "EMData", "devicepower" => "DevicePower", _ => char.ToUpperInvariant(type[0]) + type[1..] };
    }

    /// <summary>Adds <c>id</c> from <c>switch:0</c> to params (nothing for singleton components).</summary>
    public static JsonObject IdParams(string component, JsonObject p)
    {
        var colon = component.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && int.TryParse(component[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            p["id"] = id;
        }
        return p;
    }

    // Pooled: a read waits for the device's next report (seconds), so an unpooled state machine per frame would live
    // long enough to reach the old generation and die there, thousands of times a second.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(ReadOutcome, JsonObject?)> ReadFrameAsync(WebSocket socket, CancellationToken ct, bool waited = false, int? maxBytes = null)
    {
        var max = maxBytes ?? _options.MaxFrameBytes;
        byte[]? buffer = null;
        try
        {
            // A zero-byte read waits for the next frame without holding a buffer per idle device (unless the caller did).
            if (!waited && (await socket.ReceiveAsync(Memory<byte>.Empty, ct).ConfigureAwait(false)).MessageType == WebSocketMessageType.Close)
            {
                return (ReadOutcome.Closed, null);
            }
            buffer = ArrayPool<byte>.Shared.Rent(4096);
            var length = 0;
            var empty = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length >= max)
                    {
                        return (ReadOutcome.TooBig, null);
                    }
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, max + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var r = await socket.ReceiveAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return (ReadOutcome.Closed, null);
                }
                length += r.Count;
                if (length > max)
                {
                    return (ReadOutcome.TooBig, null);
                }
                // Empty fragments make no progress: a run of them would keep this loop busy for nothing.
                if (r.Count == 0 && !r.EndOfMessage && ++empty > 16)
                {
                    return (ReadOutcome.Stalled, null);
                }
                if (r.EndOfMessage)
                {
                    break;
                }
            }
            return DeviceFrames.Parse(buffer.AsSpan(0, length), out var frame, out _) switch
            {
                DeviceFrames.Error.None => (ReadOutcome.Frame, frame),
                DeviceFrames.Error.NotUtf8 => (ReadOutcome.BadUtf8, null),
                _ => (ReadOutcome.BadJson, null),
            };
        }
        catch (OperationCanceledException)
        {
            return (ReadOutcome.Timeout, null);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            return (ReadOutcome.Closed, null);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private async Task RejectAsync(WebSocket socket, ReadOutcome outcome, string what)
    {
        var (status, reason) = outcome switch
        {
            ReadOutcome.BadJson => (WebSocketCloseStatus.InvalidPayloadData, "Frame is not a JSON object (or has duplicate names or a lone surrogate)"),
            ReadOutcome.BadUtf8 => (WebSocketCloseStatus.InvalidPayloadData, "Frame is not valid UTF-8"),
            ReadOutcome.TooBig => (WebSocketCloseStatus.MessageTooBig, $"Frame larger than {(what == "first frame" ? _options.MaxFirstFrameBytes : _options.MaxFrameBytes)} bytes"),
            ReadOutcome.Timeout => (WebSocketCloseStatus.PolicyViolation, "No frame in time"),
            ReadOutcome.Stalled => (WebSocketCloseStatus.PolicyViolation, "Too many empty fragments"),
            _ => (WebSocketCloseStatus.NormalClosure, ""),
        };
        if (outcome != ReadOutcome.Closed)
        {
            LogRejected(what, reason);
        }
        await CloseAsync(socket, status, reason).ConfigureAwait(false);
    }

    /// <summary>After sending a close frame, reads (and drops) until the peer's close arrives, so the close code reaches it.</summary>
    private static async Task DrainAsync(WebSocket socket)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            while (socket.State is WebSocketState.CloseSent or WebSocketState.Open)
            {
                var r = await socket.ReceiveAsync(buffer.AsMemory(), timeout.Token).ConfigureAwait(false);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, string reason)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseOutputAsync(status, reason, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
            await DrainAsync(socket).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device connection from {Remote} rejected: first frame src={Src} method={Method}")]
    private partial void LogBadFirstFrame(string? remote, string? src, string? method);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {Id} reconnected: the previous connection is closed")]
    private partial void LogReplaced(string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {Id} from {Remote} is waiting for admission")]
    private partial void LogPending(string id, string? remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Id}: {Error}")]
    private partial void LogIdentityFailed(string id, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Denied device {Id} told to stop connecting")]
    private partial void LogDenied(string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Id}: {Dropped} status component(s) over the status limits (Fleet:MaxStatus*) were not stored")]
    private partial void LogStatusOverLimits(string id, int dropped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Id} sent more than {Limit} frames/min; disconnected")]
    private partial void LogRateLimited(string id, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device connection closed ({What}): {Reason}")]
    private partial void LogRejected(string what, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "A direct device connection failed")]
    internal partial void LogConnectionFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "A device event subscriber failed on {Kind} of {Id}")]
    private partial void LogSubscriberFailed(Exception ex, DeviceEventKind kind, string id);
}
