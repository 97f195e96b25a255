using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Hub;

/// <summary>One connected device: its websocket, outstanding RPCs (with ids, timeouts and a concurrency limit) and its state.</summary>
public sealed class DeviceSession
{
    private readonly WebSocket _socket;
    private readonly FleetOptions _options;
    // Created on the first RPC: most devices spend their connection only reporting.
    private Dictionary<long, PendingCall>? _pending;
    private readonly Lock _pendingGate = new();
    // Direct connections send each frame whole in one socket operation; a framework websocket needs one send at a time.
    private readonly SemaphoreSlim? _sendLock;
    private SemaphoreSlim? _rpcSlots;
    private int _closed;
    private long _nextId;
    private long _windowStart;
    private int _windowCount;

    internal DeviceSession(DeviceState state, WebSocket socket, FleetOptions options, string? remoteAddress)
    {
        State = state;
        _socket = socket;
        _sendLock = socket is DeviceSocket ? null : new SemaphoreSlim(1, 1);
        _options = options;
        RemoteAddress = remoteAddress;
        ConnectedAt = DateTimeOffset.UtcNow;
    }

    public string Id => State.Id;

    internal WebSocket Socket => _socket;

    /// <summary>The device's state; a claim's is a throwaway one until an operator accepts the claim.</summary>
    public DeviceState State { get; internal set; }

    /// <summary>Set while this connection waits in the waiting room claiming an accepted device's id.</summary>
    internal ClaimedSession? Claim { get; set; }

    public string? RemoteAddress { get; }

    /// <summary>How frames travel: <c>websocket</c> (<c>/shelly</c>) or another transport's name (<c>mqtt</c>).</summary>
    public string Transport => (_socket as IDeviceChannel)?.Transport ?? "websocket";

    /// <summary>The <c>src</c> of requests sent over <paramref name="socket"/>: the channel's own (an MQTT reply topic) or the server's.</summary>
    internal static string SourceOf(WebSocket socket, FleetOptions options) => (socket as IDeviceChannel)?.Source ?? options.Source;

    public DateTimeOffset ConnectedAt { get; }

    public long FramesIn { get; internal set; }

    public long FramesOut { get; private set; }

    public bool Admitted { get; internal set; }

    /// <summary>True once the connection has ended (or is closing).</summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    internal Action<DeviceSession, JsonObject>? FrameSent { get; set; }

    /// <summary>Where the password comes from when the device asks for digest authentication (401).</summary>
    internal Rpc.IDeviceCredentials? Credentials { get; set; }

    /// <summary>Calls a method on the device and returns its <c>result</c>; throws <see cref="ShellyRpcException"/> for its error, a timeout or a lost connection.</summary>
    public Task<JsonNode?> CallAsync(string method, JsonNode? parameters = null, TimeSpan? timeout = null, CancellationToken ct = default) =>
        CallAsync(method, parameters, timeout, null, ct);

    /// <summary>
    /// As <see cref="CallAsync(string, JsonNode?, TimeSpan?, CancellationToken)"/>, and <paramref name="onReply"/> sees the
    /// reply frame on the receive loop, before the device's next frame is read: what it applies is ordered with the
    /// notifications around it (a snapshot applied later, by the awaiting caller, would overwrite newer reports).
    /// </summary>
    internal async Task<JsonNode?> CallAsync(string method, JsonNode? parameters, TimeSpan? timeout, Action<JsonObject>? onReply, CancellationToken ct = default)
    {
        try
        {
            return await CallOnceAsync(method, parameters, timeout, null, onReply, ct).ConfigureAwait(false);
        }
        catch (ShellyRpcException ex) when (ex.Code == ShellyRpcException.Unauthorized && ex.FromDevice
            && Credentials?.PasswordFor(Id, State.Password) is { Length: > 0 } password)
        {
            // Authentication is enabled on the device: answer its digest challenge once (shelly-gen2.md §4).
            JsonObject auth;
            try
            {
                auth = ShellyDigest.Answer(ex.Message, password);
            }
            catch (Exception bad) when (bad is FormatException or InvalidOperationException or JsonException)
            {
                throw new ShellyRpcException(ShellyRpcException.Unauthorized, $"Device {Id} asked for authentication with an unreadable challenge: {ex.Message}") { FromDevice = true };
            }
            return await CallOnceAsync(method, parameters, timeout, auth, onReply, ct).ConfigureAwait(false);
        }
    }

    private async Task<JsonNode?> CallOnceAsync(string method, JsonNode? parameters, TimeSpan? timeout, JsonObject? auth, Action<JsonObject>? onReply, CancellationToken ct)
    {
        var limit = timeout ?? _options.RpcTimeout;
        // No timer per call (thousands of calls a second contend on the runtime's timer queue): the hub's sweep fails
        // calls past their deadline (ExpireCalls). No registration on the connection's end either (a cancellation
        // source keeps every registration it ever had, for reuse, as long as it lives): MarkClosed fails the calls in flight.
        if (IsClosed)
        {
            throw Failure(method, limit);
        }
        var deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        try
        {
            if (!RpcSlots.Wait(0))
            {
                if (!await RpcSlots.WaitAsync(limit, ct).ConfigureAwait(false))
                {
                    throw Failure(method, limit);
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw Failure(method, limit);
        }
        var id = Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_pendingGate)
        {
            (_pending ??= [])[id] = new PendingCall(tcs, deadline, onReply);
        }
        try
        {
            JsonObject response;
            try
            {
                if (IsClosed)
                {
                    // Closed after the check above; MarkClosed may have missed this call.
                    throw new OperationCanceledException();
                }
                var request = ShellyFrames.Request(id, SourceOf(_socket, _options), method, parameters?.DeepClone());
                if (auth is not null)
                {
                    request["auth"] = auth;
                }
                await SendAsync(request, ct).ConfigureAwait(false);
                response = await tcs.Task.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                throw Failure(method, limit);
            }
            if (response["error"] is { } error)
            {
                throw ShellyRpcException.FromJson(error);
            }
            // Detached from the response frame, so the caller can put it into a frame of its own.
            var result = response["result"];
            response.Remove("result");
            return result;
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            throw new ShellyRpcException(ShellyRpcException.Unavailable, $"Device {Id} disconnected during {method}");
        }
        finally
        {
            lock (_pendingGate)
            {
                // Released when idle: most devices see a call now and then, and the table would outlive them all.
                // An answered call was already removed by Complete.
                _pending?.Remove(id);
                if (_pending?.Count == 0)
                {
                    _pending = null;
                }
            }
            RpcSlots.Release();
        }
    }

    /// <summary>True while the table of calls in flight exists (released when the last call ends).</summary>
    internal bool HasPendingTable => Volatile.Read(ref _pending) is not null;

    private sealed record PendingCall(TaskCompletionSource<JsonObject> Completion, long Deadline, Action<JsonObject>? OnReply);

    /// <summary>Fails the calls whose deadline (<see cref="Environment.TickCount64"/>) has passed; called by the hub's sweep.</summary>
    internal void ExpireCalls(long now)
    {
        if (_pending is null)
        {
            return;
        }
        List<TaskCompletionSource<JsonObject>>? expired = null;
        lock (_pendingGate)
        {
            foreach (var (_, call) in _pending ?? [])
            {
                if (call.Deadline <= now)
                {
                    (expired ??= []).Add(call.Completion);
                }
            }
        }
        if (expired is not null)
        {
            foreach (var tcs in expired)
            {
                tcs.TrySetException(new TimeoutException());
            }
        }
    }

    private SemaphoreSlim RpcSlots
    {
        get
        {
            if (_rpcSlots is { } slots)
            {
                return slots;
            }
            var created = new SemaphoreSlim(Math.Max(1, _options.MaxConcurrentRpc));
            return Interlocked.CompareExchange(ref _rpcSlots, created, null) ?? created;
        }
    }

    private ShellyRpcException Failure(string method, TimeSpan limit) =>
        IsClosed
            ? new ShellyRpcException(ShellyRpcException.Unavailable, $"Device {Id} disconnected during {method}")
            : new ShellyRpcException(ShellyRpcException.DeadlineExceeded, $"Device {Id} did not answer {method} within {limit.TotalSeconds:0.#} s");

    /// <summary>
    /// Sends one frame (frames are serialized one at a time, as websockets require). Listeners hear of the frame before it
    /// goes out, in the order frames go out: a device answers at once, and its answer must not reach them before the
    /// request it answers (fleet manager's <c>Shelly.Message</c> pairs them; the Data page lists them in order).
    /// </summary>
    public async Task SendAsync(JsonObject frame, CancellationToken ct = default)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(frame);
        if (_sendLock is not null)
        {
            await _sendLock.WaitAsync(ct).ConfigureAwait(false);
        }
        try
        {
            FrameSent?.Invoke(this, frame);
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
            FramesOut++;
        }
        finally
        {
            _sendLock?.Release();
        }
    }

    /// <summary>Completes the RPC a response frame answers; false if nobody waits for that id.</summary>
    internal bool Complete(JsonObject frame)
    {
        if (frame["id"] is not JsonValue v || !v.TryGetValue<double>(out var d))
        {
            return false;
        }
        PendingCall? call = null;
        lock (_pendingGate)
        {
            _pending?.Remove((long)d, out call);
        }
        if (call is null)
        {
            return false;
        }
        call.OnReply?.Invoke(frame);
        return call.Completion.TrySetResult(frame);
    }

    /// <summary>Counts a received frame against the per-minute limit; false when the device exceeds it.</summary>
    internal bool CountFrame()
    {
        FramesIn++;
        if (_options.RateLimitPerMinute <= 0)
        {
            return true;
        }
        var now = Environment.TickCount64;
        if (now - _windowStart >= 60_000)
        {
            _windowStart = now;
            _windowCount = 0;
        }
        return ++_windowCount <= _options.RateLimitPerMinute;
    }

    internal async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        MarkClosed();
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _socket.CloseOutputAsync(status, reason, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
        }
        // The device answers the close frame and the receive loop ends; one that doesn't is cut off shortly after.
        _ = AbortLaterAsync();
    }

    private async Task AbortLaterAsync()
    {
        await Task.Delay(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        if (_socket.State != WebSocketState.Closed)
        {
            _socket.Abort();
        }
    }

    internal void MarkClosed()
    {
        Volatile.Write(ref _closed, 1);
        TaskCompletionSource<JsonObject>[] waiting;
        lock (_pendingGate)
        {
            waiting = _pending is null ? [] : [.. _pending.Values.Select(c => c.Completion)];
        }
        foreach (var tcs in waiting)
        {
            tcs.TrySetCanceled();
        }
    }
}
