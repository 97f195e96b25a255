using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Hub;

/// <summary>Reading and rejecting websocket frames below the session: size limits, draining, closing with a reason.</summary>
public sealed partial class DeviceHub
{
    /// <summary>Reads one message and parses it into a tree (the first frame of a connection: read once, kept whole).</summary>
    private async ValueTask<(ReadOutcome, JsonObject?)> ReadFrameAsync(WebSocket socket, CancellationToken ct, int? maxBytes = null)
    {
        var (outcome, buffer, length) = await ReadMessageAsync(socket, ct, waited: false, maxBytes).ConfigureAwait(false);
        if (buffer is null)
        {
            return (outcome, null);
        }
        try
        {
            return DeviceFrames.Parse(buffer.AsSpan(0, length), out var frame, out _) switch
            {
                DeviceFrames.Error.None => (ReadOutcome.Frame, frame),
                DeviceFrames.Error.NotUtf8 => (ReadOutcome.BadUtf8, null),
                _ => (ReadOutcome.BadJson, null),
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads one whole message into a buffer from the shared pool: on <see cref="ReadOutcome.Frame"/> the caller owns it (and
    /// returns it to the pool); on any other outcome no buffer is handed out.
    /// </summary>
    // Pooled: a read waits for the device's next report (seconds), so an unpooled state machine per frame would live
    // long enough to reach the old generation and die there, thousands of times a second.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(ReadOutcome Outcome, byte[]? Buffer, int Length)> ReadMessageAsync(WebSocket socket, CancellationToken ct, bool waited, int? maxBytes = null)
    {
        var max = maxBytes ?? _options.MaxFrameBytes;
        byte[]? buffer = null;
        try
        {
            // A zero-byte read waits for the next frame without holding a buffer per idle device (unless the caller did).
            if (!waited && (await socket.ReceiveAsync(Memory<byte>.Empty, ct).ConfigureAwait(false)).MessageType == WebSocketMessageType.Close)
            {
                return (ReadOutcome.Closed, null, 0);
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
                        return (ReadOutcome.TooBig, null, 0);
                    }
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, max + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var r = await socket.ReceiveAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return (ReadOutcome.Closed, null, 0);
                }
                length += r.Count;
                if (length > max)
                {
                    return (ReadOutcome.TooBig, null, 0);
                }
                // Empty fragments make no progress: a run of them would keep this loop busy for nothing.
                if (r.Count == 0 && !r.EndOfMessage && ++empty > 16)
                {
                    return (ReadOutcome.Stalled, null, 0);
                }
                if (r.EndOfMessage)
                {
                    break;
                }
            }
            var whole = buffer;
            buffer = null;
            return (ReadOutcome.Frame, whole, length);
        }
        catch (OperationCanceledException)
        {
            return (ReadOutcome.Timeout, null, 0);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            return (ReadOutcome.Closed, null, 0);
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
}
