using System.Net.WebSockets;
using System.Text;

namespace FlowFleet.Fleet.Tests;

/// <summary>Issue 13 item 13: odd but well-framed device messages get a clear close code (or are handled), never a dropped
/// socket with a stack trace, and the hub keeps serving others — over both the direct transport and Kestrel's websockets.</summary>
public sealed class OddFrameTests
{
    private static async Task<(WebSocketCloseStatus? Status, bool Open)> SendAndWatchAsync(FleetHost host, byte[] first, byte[]? second = null)
    {
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(host.ShellyUrl), CancellationToken.None);
        await ws.SendAsync(first, WebSocketMessageType.Text, true, CancellationToken.None);
        if (second is not null)
        {
            await ws.SendAsync(second, WebSocketMessageType.Text, true, CancellationToken.None);
        }
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            while (true)
            {
                var r = await ws.ReceiveAsync(buffer, timeout.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return (ws.CloseStatus, false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Still connected after the device's frames were handled: the frame was accepted.
            return (null, true);
        }
        catch (WebSocketException)
        {
            return (ws.CloseStatus, false);
        }
    }

    private const string Id = "shellyplus1-oddframes01";

    private static byte[] Text(string s) => Encoding.UTF8.GetBytes(s.Replace("ID", Id, StringComparison.Ordinal));

    public static TheoryData<string, byte[], byte[]?, int?> Cases => new()
    {
        { "invalid UTF-8 in the first frame", [.. Text("{\"src\":\"ID\",\"method\":\"NotifyStatus\",\"params\":{\"a\":{\"b\":\""), 0xff, 0xfe, .. Text("\"}}}")], null, 1007 },
        { "invalid UTF-8 later", Text("""{"src":"ID","method":"NotifyStatus","params":{}}"""), [.. Text("{\"src\":\"ID\",\"method\":\"NotifyStatus\",\"params\":{\"a\":\""), 0xc3, 0x28, .. Text("\"}}")], 1007 },
        { "duplicate keys", Text("""{"src":"ID","method":"NotifyStatus","params":{"a":{"x":1,"x":2}}}"""), null, 1007 },
        { "lone surrogate", Text("""{"src":"ID","method":"NotifyStatus","params":{}}"""), Text("""{"src":"ID","method":"NotifyStatus","params":{"a":{"s":"\ud800"}}}"""), 1007 },
        { "params as an array", Text("""{"src":"ID","method":"NotifyStatus","params":{}}"""), Text("""{"src":"ID","method":"NotifyStatus","params":[1,2,{"ts":1}]}"""), null },
        { "params as a string", Text("""{"src":"ID","method":"NotifyFullStatus","params":"x"}"""), Text("""{"src":"ID","method":"NotifyEvent","params":"x"}"""), null },
        { "events of the wrong type", Text("""{"src":"ID","method":"NotifyStatus","params":{}}"""), Text("""{"src":"ID","method":"NotifyEvent","params":{"ts":"x","events":[{"component":5,"event":["a"]},1,null]}}"""), null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Odd_frames_get_a_close_code_or_are_handled(string what, byte[] first, byte[]? second, int? code)
    {
        // Both transports: the direct one and Kestrel's websockets (Fleet:DirectConnections=false), where ASP.NET's own UTF-8
        // check closes the connection before the hub reads the frame.
        foreach (var direct in new long?[] { long.MaxValue, null })
        {
            await using var host = await FleetHost.StartAsync(maxDirect: direct);
            var (status, open) = await SendAndWatchAsync(host, first, second);
            if (code is null)
            {
                Assert.True(open, $"{what} (direct: {direct is not null}): closed with {status}");
            }
            else
            {
                Assert.True((WebSocketCloseStatus)code == status, $"{what} (direct: {direct is not null}): {status}, open {open}");
            }
        }
    }
}
