using System.Net.WebSockets;

namespace FlowFleet.Server.Auth;

/// <summary>How a websocket (<c>/client</c>, <c>/red/comms</c>) is closed once <see cref="SessionMonitor"/> sees its session end.</summary>
public static class SessionClose
{
    /// <summary>Tells the client why (1008, under <paramref name="sendLock"/> so no frame is half sent) and then drops the connection.</summary>
    public static async Task EndAsync(WebSocket socket, SemaphoreSlim sendLock)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(sendLock);
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await sendLock.WaitAsync(cts.Token);
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, "session ended", cts.Token);
            }
            finally
            {
                sendLock.Release();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Closing is best effort; the abort below ends the connection either way.
        }
        // A client that does not answer the close within a moment is cut off.
        await Task.Delay(TimeSpan.FromSeconds(2));
        socket.Abort();
    }
}
