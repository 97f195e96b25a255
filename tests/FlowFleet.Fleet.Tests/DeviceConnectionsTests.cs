using System.Buffers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;

namespace FlowFleet.Fleet.Tests;

/// <summary>Device websockets taken off the connection before Kestrel's HTTP layer, and everything else passed on untouched.</summary>
public sealed class DeviceConnectionsTests
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    private static string Upgrade(string target, string extra = "") =>
        $"GET {target} HTTP/1.1\r\nHost: fleet\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n";

    private static DeviceConnections.Verdict Parse(string head, out DeviceConnections.Handshake? handshake) =>
        DeviceConnections.Parse(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(head)), out handshake);

    [Fact]
    public void Only_a_clean_websocket_upgrade_on_shelly_is_taken()
    {
        Assert.Equal(DeviceConnections.Verdict.Device, Parse(Upgrade("/shelly?token=a%2Bb&x=1", "Sec-WebSocket-Protocol: json-rpc\r\n"), out var h));
        Assert.Equal(("a+b", true), (h!.Token, h.JsonRpc));
        Assert.Equal(Upgrade("/shelly?token=a%2Bb&x=1", "Sec-WebSocket-Protocol: json-rpc\r\n").Length, h.Length);
        Assert.Equal(DeviceConnections.Verdict.Device, Parse(Upgrade("/shelly") + "\x81\x05hello", out h));
        Assert.Equal((Upgrade("/shelly").Length, (string?)null, false), (h!.Length, h.Token, h.JsonRpc));

        Assert.Equal(DeviceConnections.Verdict.NeedMore, Parse("GET /she", out _));
        Assert.Equal(DeviceConnections.Verdict.NeedMore, Parse("GET /shelly HTTP/1.1\r\nHost: x\r\n", out _));
        Assert.Equal(DeviceConnections.Verdict.NotDevice, Parse("POST /shelly HTTP/1.1\r\n\r\n", out _));
        Assert.Equal(DeviceConnections.Verdict.NotDevice, Parse("GET /shellyx HTTP/1.1\r\n\r\n", out _));
        Assert.Equal(DeviceConnections.Verdict.NotDevice, Parse("GET /shelly HTTP/1.1\r\nHost: x\r\n\r\n", out _));
        Assert.Equal(DeviceConnections.Verdict.NotDevice, Parse(Upgrade("/shelly").Replace("Version: 13", "Version: 8", StringComparison.Ordinal), out _));
        Assert.Equal(DeviceConnections.Verdict.NotDevice, Parse(Upgrade("/shelly").Replace(Key, "short", StringComparison.Ordinal), out _));
        Assert.Equal(DeviceConnections.Verdict.NotDevice, Parse(Upgrade("/shelly/deeper"), out _));
        Assert.Equal(DeviceConnections.Verdict.NotDevice, Parse("\x16\x03\x01\x02\x00", out _));
    }

    [Fact]
    public void The_accept_value_is_the_one_of_rfc_6455()
    {
        var answer = Encoding.ASCII.GetString(DeviceConnections.Accept(new DeviceConnections.Handshake(0, Key, null, true)));
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("Sec-WebSocket-Protocol: json-rpc\r\n", answer, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_connect_directly_and_other_requests_reach_http()
    {
        await using var host = await FleetHost.StartAsync();
        await using var fleet = new SimFleet(host.ShellyUrl, 2, "plus1pm", FleetHost.FastSim, firstIndex: 40);
        await fleet.StartAsync();
        var devices = fleet.Devices.ToArray();
        var id = devices[0].Id;
        await Poll.UntilAsync(() => host.Hub.IsOnline(id) && host.Hub.IsOnline(devices[1].Id), "devices online");
        Assert.Equal(2, host.Hub.DirectConnections);
        Assert.NotNull(await host.Hub.CallAsync(id, "Switch.Set", new System.Text.Json.Nodes.JsonObject { ["id"] = 0, ["on"] = false }));
        await Poll.UntilAsync(() => host.Devices.Get(id)!.StatusOf("switch:0")?["output"]?.GetValue<bool>() == false, "status merged");
        // An idle device keeps no table of calls in flight.
        await Poll.UntilAsync(() => host.Hub.Session(id)!.HasPendingTable == false, "pending-call table released");

        using var http = new HttpClient { BaseAddress = host.BaseUri };
        Assert.Equal("hello", await http.GetStringAsync(new Uri("/hello", UriKind.Relative)));
        Assert.Equal("hello", await http.GetStringAsync(new Uri("/hello", UriKind.Relative)));
        // A browser opening /shelly gets the HTTP route's explanation, not a hung connection.
        using var plain = await http.GetAsync(new Uri("/shelly", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, plain.StatusCode);

        // The count follows disconnections.
        await fleet.Connections[1].DisposeAsync();
        await Poll.UntilAsync(() => host.Hub.DirectConnections == 1, "direct count after a disconnect");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_direct_devices_frames_are_handled_where_they_arrive_unless_switched_off(bool inline)
    {
        await using var host = await FleetHost.StartAsync(o => o.InlineReceive = inline);
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "plus1pm", FleetHost.FastSim, firstIndex: 45);
        await fleet.StartAsync();
        var id = fleet.Devices.Single().Id;
        await Poll.UntilAsync(() => host.Hub.IsOnline(id), "device online");
        var pooled = new System.Collections.Concurrent.ConcurrentQueue<bool>();
        using var watch = host.Hub.Subscribe(e =>
        {
            if (e.Kind == DeviceEventKind.Status && e.DeviceId == id)
            {
                pooled.Enqueue(Thread.CurrentThread.IsThreadPoolThread);
            }
        });
        fleet[id].Call("Switch.Set", new() { ["id"] = 0, ["on"] = false });
        await Poll.UntilAsync(() => !pooled.IsEmpty, "a status event");
        // Inline (Linux): on the socket engine's own thread, which woke for the socket; no thread-pool thread was woken for
        // it. Off: a pool thread, as every socket completion.
        Assert.Equal(!(inline && OperatingSystem.IsLinux()), pooled.TryPeek(out var onPool) && onPool);
    }

    [Fact]
    public async Task A_head_sent_in_pieces_is_still_a_device()
    {
        await using var host = await FleetHost.StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(host.BaseUri.Host, host.BaseUri.Port);
        var stream = tcp.GetStream();
        var head = Encoding.ASCII.GetBytes(Upgrade("/shelly"));
        foreach (var piece in head.Chunk(7))
        {
            await stream.WriteAsync(piece);
            await Task.Delay(5);
        }
        using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false });
        var answer = new byte[512];
        var read = 0;
        while (!Encoding.ASCII.GetString(answer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            read += await stream.ReadAsync(answer.AsMemory(read));
        }
        Assert.StartsWith("HTTP/1.1 101", Encoding.ASCII.GetString(answer, 0, read), StringComparison.Ordinal);
        var frame = """{"src":"shellyplus1pm-aabbccddee01","method":"NotifyFullStatus","params":{"ts":1,"switch:0":{"id":0,"output":true}}}""";
        await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, CancellationToken.None);
        await Poll.UntilAsync(() => host.Devices.Get("shellyplus1pm-aabbccddee01") is not null, "device registered from a piecemeal head");
        Assert.Equal(1, host.Hub.DirectConnections);
    }

    [Fact]
    public async Task A_silent_device_is_pinged_and_then_cut_off()
    {
        // The answering device must pong within an interval after its ping (the cut-off is two intervals of silence, read by
        // a sweep every 250 ms): at 400 ms a stall of the test process under the suite's load once cut it off too.
        await using var host = await FleetHost.StartAsync(o => o.PingInterval = TimeSpan.FromSeconds(1));
        // A simulated device answers pings (its websocket does) and stays.
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "plus1pm", FleetHost.FastSim, firstIndex: 60);
        await fleet.StartAsync();
        var answering = fleet.Devices.Single().Id;
        // A device that stops reading (a hung network, a crashed device whose socket stays open) answers nothing.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(host.BaseUri.Host, host.BaseUri.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(Upgrade("/shelly")));
        var answer = new byte[4096];
        var read = 0;
        while (!Encoding.ASCII.GetString(answer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            read += await stream.ReadAsync(answer.AsMemory(read));
        }
        // It reads what it is sent (the server's identity calls, pings) but answers nothing.
        var sent = new List<byte>();
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer)) > 0)
                {
                    lock (sent)
                    {
                        sent.AddRange(buffer.AsSpan(0, n));
                    }
                }
            }
            catch (IOException)
            {
                // Cut off.
            }
        });
        await stream.WriteAsync(DeviceSocketTests.Frame(1, """{"src":"shellyplus1pm-aabbccddee02","method":"NotifyFullStatus","params":{"ts":1}}"""u8.ToArray()));
        await Poll.UntilAsync(() => host.Hub.IsOnline("shellyplus1pm-aabbccddee02") && host.Hub.IsOnline(answering), "both online");
        await Poll.UntilAsync(() => !host.Hub.IsOnline("shellyplus1pm-aabbccddee02"), "silent device cut off after two ping intervals");
        await reading;
        Assert.True(host.Hub.IsOnline(answering));
        // A ping frame (FIN + opcode 9, empty) was among what it was sent.
        byte[] bytes;
        lock (sent)
        {
            bytes = [.. sent];
        }
        Assert.Contains(Enumerable.Range(0, bytes.Length - 1), i => bytes[i] == 0x89 && bytes[i + 1] == 0);
    }

    [Fact]
    public async Task Beyond_the_budget_devices_are_refused_with_503()
    {
        await using var host = await FleetHost.StartAsync(maxDirect: 0);
        using var ws = new ClientWebSocket();
        var error = await Assert.ThrowsAsync<WebSocketException>(() => ws.ConnectAsync(new Uri(host.ShellyUrl), CancellationToken.None));
        Assert.Contains("503", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, host.Hub.ConnectionsRefused);
        Assert.Equal(0, host.Hub.DirectConnections);
    }

    [Fact]
    public async Task Connections_beyond_the_budget_and_its_burst_are_closed_at_once()
    {
        await using var host = await FleetHost.StartAsync(maxDirect: 1, burst: 0);
        // A connection that says nothing holds the one place (one device, no burst).
        using var silent = new TcpClient();
        await silent.ConnectAsync(host.BaseUri.Host, host.BaseUri.Port);
        using var ws = new ClientWebSocket();
        await Assert.ThrowsAnyAsync<Exception>(() => ws.ConnectAsync(new Uri(host.ShellyUrl), CancellationToken.None));
        // Counted as refused (the client's HTTP stack may try more than once).
        Assert.True(host.Hub.ConnectionsRefused >= 1);
        // Once it speaks (and goes to HTTP), the place is free again.
        await silent.GetStream().WriteAsync("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var answer = new byte[1024];
        var got = 0;
        // The body comes chunked ("5\r\nhello\r\n0\r\n\r\n").
        while (!Encoding.ASCII.GetString(answer, 0, got).Contains("\r\nhello\r\n", StringComparison.Ordinal))
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var n = await silent.GetStream().ReadAsync(answer.AsMemory(got), wait.Token);
            Assert.True(n > 0, "connection closed after: " + Encoding.ASCII.GetString(answer, 0, got));
            got += n;
        }
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "plus1pm", FleetHost.FastSim, firstIndex: 70);
        await fleet.StartAsync();
        await Poll.UntilAsync(() => host.Hub.IsOnline(fleet.Devices.Single().Id), "device online once a place is free");
    }

    [Fact]
    public async Task Without_the_direct_path_devices_come_through_http()
    {
        await using var host = await FleetHost.StartAsync(maxDirect: null);
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "plus1pm", FleetHost.FastSim, firstIndex: 50);
        await fleet.StartAsync();
        await Poll.UntilAsync(() => host.Hub.IsOnline(fleet.Devices.Single().Id), "device online through HTTP");
        Assert.Equal(0, host.Hub.DirectConnections);
        Assert.NotNull(await host.Hub.CallAsync(fleet.Devices.Single().Id, "Shelly.GetDeviceInfo"));
    }
}
