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
        if (_options.InlineReceive)
        {
            // From here on a device's frames are handled where its socket's readiness is seen (FleetOptions.InlineReceive).
            (socket as DeviceSocket)?.CompleteInline();
        }
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
            var (outcome, buffer, length) = await ReadMessageAsync(socket, CancellationToken.None, waited: true).ConfigureAwait(false);
            JsonDocument? frame = null;
            try
            {
                if (outcome == ReadOutcome.Closed || aborted.IsCancellationRequested)
                {
                    // Closed, or the connection dropped (a battery device going to sleep does exactly that).
                    return;
                }
                if (outcome == ReadOutcome.Frame)
                {
                    // Parsed over the pooled receive buffer: no copy of the frame, no tree (DeviceHub.Ingest.cs).
                    outcome = DeviceFrames.ParseDocument(buffer.AsMemory(0, length), out frame) switch
                    {
                        DeviceFrames.Error.None => ReadOutcome.Frame,
                        DeviceFrames.Error.NotUtf8 => ReadOutcome.BadUtf8,
                        _ => ReadOutcome.BadJson,
                    };
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
                    HandleFrame(session, buffer.AsSpan(0, length), frame!.RootElement);
                }
                catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or JsonException or OverflowException)
                {
                    // A shape no reader foresaw: this device is told so (1007) and logged in one line; nobody else notices.
                    Interlocked.Increment(ref _framesRejected);
                    LogRejected(session.Id, "frame not understood: " + ex.Message);
                    frame!.Dispose();
                    frame = null;
                    ArrayPool<byte>.Shared.Return(buffer!);
                    buffer = null;
                    await session.CloseAsync(WebSocketCloseStatus.InvalidPayloadData, "Frame not understood").ConfigureAwait(false);
                    await DrainAsync(socket).ConfigureAwait(false);
                    session.MarkClosed();
                    return;
                }
            }
            finally
            {
                frame?.Dispose();
                if (buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
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
