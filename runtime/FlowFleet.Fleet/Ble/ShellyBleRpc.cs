using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.Fleet.Ble;

/// <summary>Timing and size limits of RPC over GATT.</summary>
public sealed record ShellyBleRpcOptions
{
    /// <summary>Time one attempt of a call may take, from the length write to the last byte of the answer.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts after the first when the transport fails or the device does not answer in time.</summary>
    public int Retries { get; init; } = 2;

    /// <summary>How often <c>rx_ctl</c> is read while no notification told the answer's length (Shelly's apps: ~100 ms).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Largest request frame a device takes (about 4 KiB).</summary>
    public int MaxRequestBytes { get; init; } = 4096;

    /// <summary>Largest answer accepted; a device announcing more is treated as broken rather than filling memory.</summary>
    public int MaxResponseBytes { get; init; } = 256 * 1024;
}

/// <summary>
/// JSON-RPC to one Shelly over its GATT RPC service (shared/protocols/shelly-gen2.md §5): the request length big-endian to
/// <c>tx_ctl</c>, the frame in chunks to <c>data</c>, the answer's length from <c>rx_ctl</c> (notification, else polling),
/// the answer in chunks from <c>data</c>. One frame in flight per connection; timeouts and retries per call.
/// </summary>
public sealed class ShellyBleRpc : IAsyncDisposable
{
    private readonly IBleConnection _connection;
    private readonly ShellyBleRpcOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _inFlight = new(1, 1);
    private IAsyncDisposable? _subscription;
    private bool _subscribeTried;
    private TaskCompletionSource<uint> _rxLength = NewSignal();
    private int _nextId;

    public ShellyBleRpc(IBleConnection connection, ShellyBleRpcOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _options = options ?? new ShellyBleRpcOptions();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Attempts made by the last call (1 = no retry), for logs and tests.</summary>
    public int LastAttempts { get; private set; }

    /// <summary>True once <c>rx_ctl</c> notifications are on; false while lengths are polled.</summary>
    public bool Notifying => _subscription is not null;

    /// <summary>
    /// Calls a method. Throws <see cref="ShellyRpcException"/> when the device answers with an error, <see cref="BleException"/>
    /// when it cannot be reached or does not answer after the retries, <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    public async Task<JsonNode?> CallAsync(string method, JsonNode? parameters = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(method);
        await _inFlight.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            BleException? last = null;
            for (var attempt = 0; attempt <= _options.Retries; attempt++)
            {
                LastAttempts = attempt + 1;
                try
                {
                    return await OnceAsync(method, parameters, ct).ConfigureAwait(false);
                }
                catch (BleException ex)
                {
                    last = ex;
                }
            }
            throw new BleException($"{method}: {last!.Message} (after {LastAttempts} attempts)", last);
        }
        finally
        {
            _inFlight.Release();
        }
    }

    private async Task<JsonNode?> OnceAsync(string method, JsonNode? parameters, CancellationToken ct)
    {
        var id = Interlocked.Increment(ref _nextId);
        var frame = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters?.DeepClone() ?? new JsonObject() };
        var request = JsonSerializer.SerializeToUtf8Bytes(frame);
        if (request.Length > _options.MaxRequestBytes)
        {
            throw new ArgumentException($"The request is {request.Length} bytes; a Shelly takes at most {_options.MaxRequestBytes} over BLE.", nameof(parameters));
        }
        using var deadline = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        var token = linked.Token;
        var step = "subscribing to rx_ctl";
        try
        {
            await EnsureSubscribedAsync(token).ConfigureAwait(false);
            Interlocked.Exchange(ref _rxLength, NewSignal());
            step = "writing the length to tx_ctl";
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)request.Length);
            await _connection.WriteAsync(ShellyGatt.RpcService, ShellyGatt.TxCtl, length, token).ConfigureAwait(false);
            step = "writing the request to data";
            var chunk = Math.Max(1, _connection.MaxChunk);
            for (var offset = 0; offset < request.Length; offset += chunk)
            {
                await _connection.WriteAsync(ShellyGatt.RpcService, ShellyGatt.Data, request.AsMemory(offset, Math.Min(chunk, request.Length - offset)), token).ConfigureAwait(false);
            }
            step = "waiting for the answer's length on rx_ctl";
            var expected = await AnswerLengthAsync(token).ConfigureAwait(false);
            if (expected > _options.MaxResponseBytes)
            {
                throw new InvalidDataException($"the device announced an answer of {expected} bytes (limit {_options.MaxResponseBytes})");
            }
            step = "reading the answer from data";
            var answer = new byte[expected];
            var got = 0;
            while (got < expected)
            {
                var part = await _connection.ReadAsync(ShellyGatt.RpcService, ShellyGatt.Data, token).ConfigureAwait(false);
                if (part.Length == 0)
                {
                    throw new InvalidDataException($"the answer ended after {got} of {expected} bytes");
                }
                var take = Math.Min(part.Length, (int)expected - got);
                part.AsSpan(0, take).CopyTo(answer.AsSpan(got));
                got += take;
            }
            return Parse(answer, id, method);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new BleException($"no answer within {_options.Timeout.TotalSeconds:0.#} s while {step}");
        }
        catch (InvalidDataException ex)
        {
            throw new BleException(ex.Message, ex);
        }
        catch (BleException ex)
        {
            throw new BleException($"{step} failed: {ex.Message}", ex);
        }
    }

    private static JsonNode? Parse(byte[] answer, int id, string method)
    {
        JsonObject response;
        try
        {
            response = JsonNode.Parse(answer) as JsonObject ?? throw new InvalidDataException("the answer is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException("the answer is not valid JSON: " + ex.Message, ex);
        }
        if (response["id"] is not JsonValue v || !v.TryGetValue<double>(out var got) || (int)got != id)
        {
            // A late answer to an attempt that timed out: this attempt failed, the next one starts clean.
            throw new InvalidDataException($"the answer belongs to another request (id {response["id"]?.ToJsonString() ?? "none"}, expected {id})");
        }
        if (response["error"] is { } error)
        {
            var ex = ShellyRpcException.FromJson(error);
            throw new ShellyRpcException(ex.Code, $"{method}: {ex.Message}") { FromDevice = true };
        }
        return response["result"]?.DeepClone();
    }

    private async Task EnsureSubscribedAsync(CancellationToken ct)
    {
        if (_subscribeTried)
        {
            return;
        }
        _subscribeTried = true;
        try
        {
            _subscription = await _connection.SubscribeAsync(ShellyGatt.RpcService, ShellyGatt.RxCtl, OnRxCtl, ct).ConfigureAwait(false);
        }
        catch (BleException)
        {
            // Notifications are a convenience: polling rx_ctl works on every firmware.
            _subscription = null;
        }
    }

    private void OnRxCtl(byte[] value)
    {
        if (value.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(value) is var n and > 0)
        {
            Volatile.Read(ref _rxLength).TrySetResult(n);
        }
    }

    private async Task<uint> AnswerLengthAsync(CancellationToken ct)
    {
        var signal = Volatile.Read(ref _rxLength);
        // With notifications the poll is only a safety net against a lost notification.
        var interval = _subscription is null ? _options.PollInterval : _options.PollInterval * 5;
        while (true)
        {
            if (signal.Task.IsCompleted)
            {
                return await signal.Task.ConfigureAwait(false);
            }
            var value = await _connection.ReadAsync(ShellyGatt.RpcService, ShellyGatt.RxCtl, ct).ConfigureAwait(false);
            if (value.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(value) is var n and > 0)
            {
                return n;
            }
            await Task.WhenAny(signal.Task, Task.Delay(interval, _time, ct)).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }
    }

    private static TaskCompletionSource<uint> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        if (_subscription is not null)
        {
            try
            {
                await _subscription.DisposeAsync().ConfigureAwait(false);
            }
            catch (BleException)
            {
            }
            _subscription = null;
        }
        _inFlight.Dispose();
    }
}
