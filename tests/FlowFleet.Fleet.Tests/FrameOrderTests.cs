using System.Net.WebSockets;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Tests;

/// <summary>
/// A frame to a device is announced to the hub's listeners before it is on the wire. A device answers at once, and the
/// server's receive loop handles the answer on another thread: announced after the send, the request could reach the
/// listeners after its answer, and fleet manager's <c>Shelly.Message</c> then went out without its <c>req</c> (seen as a
/// 30 s wait in <c>FleetManagerTests</c> on a loaded machine).
/// </summary>
public sealed class FrameOrderTests
{
    [Fact]
    public async Task A_frame_is_announced_before_it_is_sent()
    {
        var log = new List<string>();
        var socket = new RecordingSocket(log);
        var session = new DeviceSession(new DeviceState("shellyplus1pm-a8032ab12345"), socket, new FleetOptions(), null)
        {
            FrameSent = (_, frame) => log.Add("announced " + frame["id"]),
        };

        await session.SendAsync(new JsonObject { ["id"] = 1, ["method"] = "Switch.Toggle" });
        await session.SendAsync(new JsonObject { ["id"] = 2, ["method"] = "Switch.Toggle" });

        Assert.Equal(["announced 1", "sent", "announced 2", "sent"], log);
        Assert.Equal(2, session.FramesOut);
    }

    [Fact]
    public async Task A_frame_that_fails_to_send_is_not_counted()
    {
        var socket = new RecordingSocket([]) { Fail = true };
        var session = new DeviceSession(new DeviceState("shellyplus1pm-a8032ab12345"), socket, new FleetOptions(), null);

        await Assert.ThrowsAsync<WebSocketException>(() => session.SendAsync(new JsonObject { ["id"] = 1 }));

        Assert.Equal(0, session.FramesOut);
    }

    /// <summary>A websocket that only records its sends.</summary>
    private sealed class RecordingSocket(List<string> log) : WebSocket
    {
        public bool Fail { get; init; }

        public override WebSocketCloseStatus? CloseStatus => null;
        public override string? CloseStatusDescription => null;
        public override WebSocketState State => WebSocketState.Open;
        public override string? SubProtocol => null;

        public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
        {
            if (Fail)
            {
                throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely);
            }
            log.Add("sent");
            return Task.CompletedTask;
        }

        public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;
        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;
        public override void Abort() { }
        public override void Dispose() { }
    }
}
