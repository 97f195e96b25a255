using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// The server end of a device's websocket (RFC 6455) straight on its TCP socket: no transport pipes, no stream, no
/// per-connection timer. Idle, it holds no buffer (a zero-byte receive waits for the next frame). Pings are sent by the
/// hub's sweep (<see cref="KeepAlive"/>) when a device has been silent for a ping interval; pings from the device are
/// answered, a close frame is echoed.
/// </summary>
internal sealed partial class DeviceSocket(Socket socket, string? subProtocol) : WebSocket
{
    private const int Chunk = 4096;
    private const int OpContinuation = 0, OpText = 1, OpBinary = 2, OpClose = 8, OpPing = 9, OpPong = 10;

    // Received bytes not handed out yet: [_start, _end) of a pooled buffer, returned to the pool when empty.
    private byte[]? _buffer;
    private int _start;
    private int _end;

    // The data frame being read: payload bytes left, its mask and position in it, whether it ends its message.
    private bool _inFrame;
    private long _remaining;
    private uint _mask;
    private int _maskOffset;
    private bool _final;
    private bool _inMessage;
    private WebSocketMessageType _messageType;

    private bool _sending;
    // Frames (data, pings from the sweep, pongs and closes from the receive path) go out one at a time: concurrent socket
    // sends are not guaranteed to keep a frame's bytes together.
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    // Empty data frames in a row: legal, but an endless run of them would keep a receive busy without ever making progress.
    private int _emptyFrames;
    private const int MaxEmptyFrames = 16;
    private int _state = (int)WebSocketState.Open;
    private WebSocketCloseStatus? _closeStatus;
    private string? _closeDescription;
    private long _lastHeard = Environment.TickCount64;
    private long _lastPing;

    public override WebSocketCloseStatus? CloseStatus => _closeStatus;

    public override string? CloseStatusDescription => _closeDescription;

    public override WebSocketState State => (WebSocketState)Volatile.Read(ref _state);

    public override string? SubProtocol => subProtocol;

    // SafeSocketHandle.PreferInlineCompletions: internal to System.Net.Sockets (Unix), what the process-wide
    // DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 sets for every socket.
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "set_PreferInlineCompletions")]
    private static extern void SetPreferInlineCompletions(SafeSocketHandle handle, bool value);

    private static bool s_noInlineCompletions = !OperatingSystem.IsLinux();

    /// <summary>
    /// Lets this socket's receives complete on the socket engine's thread that saw the socket readable, instead of a
    /// thread-pool work item per batch of ready sockets (plus one more the engine requests to parallelise): a device's frame
    /// is then read and handled with no thread woken for it. Only for the session's receive loop, whose handling does not
    /// block (state merge under a short lock, queued writes, subscribers that must stay short); the first frame's admission
    /// (database reads and writes) runs before it on the thread pool. Nothing happens where the runtime has no such switch.
    /// </summary>
    internal void CompleteInline()
    {
        if (Volatile.Read(ref s_noInlineCompletions))
        {
            return;
        }
        try
        {
            SetPreferInlineCompletions(socket.SafeHandle, true);
        }
        catch (MissingMethodException)
        {
            Volatile.Write(ref s_noInlineCompletions, true);
        }
    }

    public override ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        ReceiveCoreAsync(buffer, cancellationToken);

    public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
    {
        var r = await ReceiveCoreAsync(buffer, cancellationToken).ConfigureAwait(false);
        return r.MessageType == WebSocketMessageType.Close
            ? new WebSocketReceiveResult(0, WebSocketMessageType.Close, true, _closeStatus, _closeDescription)
            : new WebSocketReceiveResult(r.Count, r.MessageType, r.EndOfMessage);
    }

    // Pooled: a receive waits for the device's next report (seconds), long enough for an unpooled box to reach gen 2.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ValueWebSocketReceiveResult> ReceiveCoreAsync(Memory<byte> destination, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                // The device's close frame has been received (and answered): every later read says so.
                if (_closeStatus is not null)
                {
                    return new ValueWebSocketReceiveResult(0, WebSocketMessageType.Close, true);
                }
                if (_inFrame)
                {
                    if (destination.IsEmpty)
                    {
                        // A zero-byte read: returns once payload is there.
                        if (_end == _start)
                        {
                            await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, ct).ConfigureAwait(false);
                        }
                        return new ValueWebSocketReceiveResult(0, _messageType, false);
                    }
                    var want = (int)Math.Min(destination.Length, _remaining);
                    int n;
                    if (_end > _start)
                    {
                        n = Math.Min(want, _end - _start);
                        _buffer.AsSpan(_start, n).CopyTo(destination.Span);
                        Consume(n);
                    }
                    else
                    {
                        n = await socket.ReceiveAsync(destination[..want], SocketFlags.None, ct).ConfigureAwait(false);
                        if (n == 0)
                        {
                            throw Premature(null);
                        }
                        _lastHeard = Environment.TickCount64;
                    }
                    Unmask(destination.Span[..n], _mask, _maskOffset);
                    _maskOffset = (_maskOffset + n) & 3;
                    _remaining -= n;
                    if (_remaining > 0)
                    {
                        return new ValueWebSocketReceiveResult(n, _messageType, false);
                    }
                    _inFrame = false;
                    _inMessage = !_final;
                    return new ValueWebSocketReceiveResult(n, _messageType, _final);
                }

                // A frame header: 2 bytes, up to 8 of extended length, 4 of mask. An idle device waits here, in a zero-byte
                // receive, rather than in FillAsync: one pending state machine per idle connection instead of two.
                if (_buffer is null)
                {
                    await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, ct).ConfigureAwait(false);
                    _buffer = ArrayPool<byte>.Shared.Rent(Chunk);
                }
                await FillAsync(2, ct).ConfigureAwait(false);
                var b0 = _buffer![_start];
                var b1 = _buffer[_start + 1];
                var fin = (b0 & 0x80) != 0;
                var opcode = b0 & 0x0F;
                var len7 = b1 & 0x7F;
                if ((b0 & 0x70) != 0 || (b1 & 0x80) == 0)
                {
                    // Reserved bits without an extension, or an unmasked frame from a client (RFC 6455 §5.1, §5.2).
                    throw await FailAsync("Frame with reserved bits set or without a mask").ConfigureAwait(false);
                }
                var extra = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
                await FillAsync(2 + extra + 4, ct).ConfigureAwait(false);
                var header = _buffer.AsSpan(_start + 2, extra + 4);
                var length = extra switch
                {
                    2 => BinaryPrimitives.ReadUInt16BigEndian(header),
                    8 => (long)BinaryPrimitives.ReadUInt64BigEndian(header),
                    _ => len7,
                };
                if (length < 0)
                {
                    throw await FailAsync("Frame length out of range").ConfigureAwait(false);
                }
                var mask = BinaryPrimitives.ReadUInt32LittleEndian(header[extra..]);
                Consume(2 + extra + 4);

                if (opcode >= OpClose)
                {
                    if (!fin || length > 125)
                    {
                        throw await FailAsync("Fragmented or oversized control frame").ConfigureAwait(false);
                    }
                    var payload = new byte[length];
                    if (length > 0)
                    {
                        await FillAsync((int)length, ct).ConfigureAwait(false);
                        _buffer.AsSpan(_start, (int)length).CopyTo(payload);
                        Consume((int)length);
                        Unmask(payload, mask, 0);
                    }
                    switch (opcode)
                    {
                        case OpPing:
                            await SendQuietlyAsync(OpPong, payload).ConfigureAwait(false);
                            continue;
                        case OpPong:
                            continue;
                        case OpClose:
                            await ReceivedCloseAsync(payload).ConfigureAwait(false);
                            return new ValueWebSocketReceiveResult(0, WebSocketMessageType.Close, true);
                        default:
                            throw await FailAsync($"Unknown control opcode {opcode}").ConfigureAwait(false);
                    }
                }
                if (opcode is not (OpContinuation or OpText or OpBinary) || (opcode == OpContinuation) != _inMessage)
                {
                    throw await FailAsync(opcode == OpContinuation ? "Continuation frame outside a message" : $"Unexpected opcode {opcode}").ConfigureAwait(false);
                }
                if (opcode != OpContinuation)
                {
                    _messageType = opcode == OpText ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
                }
                _inMessage = true;
                _final = fin;
                if (length == 0)
                {
                    if (++_emptyFrames > MaxEmptyFrames)
                    {
                        throw await FailAsync("Too many empty frames").ConfigureAwait(false);
                    }
                    _inMessage = !fin;
                    if (fin || !destination.IsEmpty)
                    {
                        return new ValueWebSocketReceiveResult(0, _messageType, fin);
                    }
                    continue;
                }
                _emptyFrames = 0;
                (_inFrame, _remaining, _mask, _maskOffset) = (true, length, mask, 0);
            }
        }
        catch (SocketException ex)
        {
            throw Premature(ex);
        }
    }

    /// <summary>Reads until at least <paramref name="count"/> bytes are buffered; a zero-byte wait first when none are.</summary>
    private async ValueTask FillAsync(int count, CancellationToken ct)
    {
        while (_end - _start < count)
        {
            if (_buffer is null)
            {
                await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, ct).ConfigureAwait(false);
                _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(Chunk, count));
            }
            else if (_buffer.Length - _start < count)
            {
                var next = _buffer.Length < count ? ArrayPool<byte>.Shared.Rent(count) : _buffer;
                _buffer.AsSpan(_start, _end - _start).CopyTo(next);
                if (!ReferenceEquals(next, _buffer))
                {
                    ArrayPool<byte>.Shared.Return(_buffer);
                }
                (_buffer, _end, _start) = (next, _end - _start, 0);
            }
            var n = await socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0)
            {
                throw Premature(null);
            }
            _end += n;
            _lastHeard = Environment.TickCount64;
        }
    }

    private void Consume(int count)
    {
        _start += count;
        if (_start == _end && _buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            (_buffer, _start, _end) = (null, 0, 0);
        }
    }

    /// <summary>XORs <paramref name="data"/> with the 4-byte mask (read little-endian), starting at byte <paramref name="offset"/> of it.</summary>
    internal static void Unmask(Span<byte> data, uint mask, int offset)
    {
        var rotated = BitOperations.RotateRight(mask, offset * 8);
        var i = 0;
        if (BitConverter.IsLittleEndian)
        {
            var wide = rotated | ((ulong)rotated << 32);
            var longs = MemoryMarshal.Cast<byte, ulong>(data);
            for (var k = 0; k < longs.Length; k++)
            {
                longs[k] ^= wide;
            }
            i = longs.Length * 8;
        }
        for (; i < data.Length; i++)
        {
            data[i] ^= (byte)(rotated >> ((i & 3) * 8));
        }
    }

    private async Task ReceivedCloseAsync(byte[] payload)
    {
        _closeStatus = payload.Length >= 2 ? (WebSocketCloseStatus)BinaryPrimitives.ReadUInt16BigEndian(payload) : WebSocketCloseStatus.Empty;
        _closeDescription = payload.Length > 2 ? Encoding.UTF8.GetString(payload, 2, payload.Length - 2) : null;
        if (Interlocked.CompareExchange(ref _state, (int)WebSocketState.Closed, (int)WebSocketState.Open) == (int)WebSocketState.Open)
        {
            // Not closing yet: answer with the same code (RFC 6455 §5.5.1) — unless it is one a peer may not send (999,
            // 1005, 1006, 1015, unassigned 1xxx/2xxx, a 1-byte payload: 1002) or its reason is not UTF-8 (1007), §7.4.
            await SendQuietlyAsync(OpClose, payload.Length switch
            {
                0 => [],
                1 => ClosePayload(WebSocketCloseStatus.ProtocolError, "Invalid close frame"),
                _ when !IsValidCloseCode(BinaryPrimitives.ReadUInt16BigEndian(payload)) => ClosePayload(WebSocketCloseStatus.ProtocolError, "Invalid close code"),
                _ when !System.Text.Unicode.Utf8.IsValid(payload.AsSpan(2)) => ClosePayload(WebSocketCloseStatus.InvalidPayloadData, "Close reason is not UTF-8"),
                _ => payload[..2],
            }).ConfigureAwait(false);
        }
        else
        {
            Interlocked.CompareExchange(ref _state, (int)WebSocketState.Closed, (int)WebSocketState.CloseSent);
        }
        Shutdown();
    }

    /// <summary>Close codes a peer may send (RFC 6455 §7.4.1, IANA registry): 1000–1003, 1007–1014, 3000–4999.</summary>
    internal static bool IsValidCloseCode(int code) => code is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);

    /// <summary>Closes with 1002 after a protocol error; returns the exception the receive then throws.</summary>
    private async Task<WebSocketException> FailAsync(string reason)
    {
        if (Interlocked.CompareExchange(ref _state, (int)WebSocketState.CloseSent, (int)WebSocketState.Open) == (int)WebSocketState.Open)
        {
            await SendQuietlyAsync(OpClose, ClosePayload(WebSocketCloseStatus.ProtocolError, reason)).ConfigureAwait(false);
        }
        Abort();
        return new WebSocketException(WebSocketError.Faulted, reason);
    }

    private static WebSocketException Premature(Exception? inner) =>
        new(WebSocketError.ConnectionClosedPrematurely, "The device closed the connection without a close frame", inner);

    private void Shutdown()
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    public override void Abort()
    {
        var state = State;
        if (state != WebSocketState.Closed)
        {
            Volatile.Write(ref _state, (int)WebSocketState.Aborted);
        }
        socket.Dispose();
    }

    public override void Dispose()
    {
        if (State is not (WebSocketState.Closed or WebSocketState.Aborted))
        {
            Volatile.Write(ref _state, (int)WebSocketState.Closed);
        }
        socket.Dispose();
    }
}
