using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace FlowFleet.Fleet.Hub;

/// <summary>Sending frames (one at a time under a lock), closing, and the keep-alive pings.</summary>
internal sealed partial class DeviceSocket
{
    public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        if (State != WebSocketState.Open)
        {
            throw new WebSocketException(WebSocketError.InvalidState, $"Cannot send in state {State}");
        }
        var opcode = _sending ? OpContinuation : messageType switch
        {
            WebSocketMessageType.Text => OpText,
            WebSocketMessageType.Binary => OpBinary,
            _ => throw new ArgumentOutOfRangeException(nameof(messageType), "Close frames are sent with CloseOutputAsync"),
        };
        _sending = !endOfMessage;
        return SendFrameAsync(opcode, endOfMessage, buffer, cancellationToken);
    }

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();

    /// <summary>One frame in one send, under the send lock: frames never interleave.</summary>
    private async ValueTask SendFrameAsync(int opcode, bool fin, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        var header = payload.Length < 126 ? 2 : payload.Length <= ushort.MaxValue ? 4 : 10;
        var frame = ArrayPool<byte>.Shared.Rent(header + payload.Length);
        try
        {
            frame[0] = (byte)((fin ? 0x80 : 0) | opcode);
            switch (header)
            {
                case 2:
                    frame[1] = (byte)payload.Length;
                    break;
                case 4:
                    frame[1] = 126;
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
                    break;
                default:
                    frame[1] = 127;
                    BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
                    break;
            }
            payload.Span.CopyTo(frame.AsSpan(header));
            // Cancellable only before it starts: a frame cut off half-way would corrupt the stream for every later frame.
            await _sendLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await socket.SendAsync(frame.AsMemory(0, header + payload.Length), SocketFlags.None, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (SocketException ex)
        {
            throw Premature(ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    private async Task SendQuietlyAsync(int opcode, byte[] payload)
    {
        try
        {
            await SendFrameAsync(opcode, true, payload, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
        {
        }
    }

    private static byte[] ClosePayload(WebSocketCloseStatus status, string? description)
    {
        var text = Encoding.UTF8.GetBytes(description ?? "");
        var payload = new byte[2 + Math.Min(text.Length, 123)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)status);
        text.AsSpan(0, payload.Length - 2).CopyTo(payload.AsSpan(2));
        return payload;
    }

    public override async Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        // Only from Open: a close from the device was already answered (Closed), and there is no CloseReceived state here.
        if (Interlocked.CompareExchange(ref _state, (int)WebSocketState.CloseSent, (int)WebSocketState.Open) != (int)WebSocketState.Open)
        {
            return;
        }
        await SendFrameAsync(OpClose, true, ClosePayload(closeStatus, statusDescription), cancellationToken).ConfigureAwait(false);
    }

    public override async Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        await CloseOutputAsync(closeStatus, statusDescription, cancellationToken).ConfigureAwait(false);
        var scratch = new byte[256];
        while (State == WebSocketState.CloseSent)
        {
            var r = await ReceiveCoreAsync(scratch, cancellationToken).ConfigureAwait(false);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                break;
            }
        }
    }

    /// <summary>Called by the hub's sweep: pings a device silent for <paramref name="interval"/> ms (once per interval) and
    /// cuts it off once silent — not even a pong — for <paramref name="timeout"/> ms.</summary>
    internal void KeepAlive(long now, long interval, long timeout)
    {
        if (State != WebSocketState.Open)
        {
            return;
        }
        var silent = now - Volatile.Read(ref _lastHeard);
        if (silent >= timeout)
        {
            Abort();
        }
        else if (silent >= interval && now - _lastPing >= interval)
        {
            _lastPing = now;
            _ = SendQuietlyAsync(OpPing, []);
        }
    }
}
