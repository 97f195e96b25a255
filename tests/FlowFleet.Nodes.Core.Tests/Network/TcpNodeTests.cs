using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Network;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Network;

/// <summary>Behaviour from Node-RED's <c>31-tcpin_spec.js</c> and <c>31-tcprequest_spec.js</c>, over real loopback sockets on port 0.</summary>
public sealed class TcpNodeTests
{
    private static async Task<TcpClient> ConnectAsync(int port)
    {
        var c = new TcpClient();
        await c.ConnectAsync(IPAddress.Loopback, port);
        return c;
    }

    private static async Task<string> ReadAsync(Stream s, int bytes)
    {
        var buffer = new byte[bytes];
        using var cts = new CancellationTokenSource(FlowHarness.DefaultTimeout);
        await s.ReadExactlyAsync(buffer, cts.Token);
        return Encoding.UTF8.GetString(buffer);
    }

    [Fact]
    public async Task Tcp_in_server_splits_utf8_at_the_delimiter_and_tcp_out_replies_to_the_session()
    {
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"n","type":"tcp in","z":"t","server":"server","port":"0","datamode":"stream","datatype":"utf8","newline":"\\n","topic":"tt","x":0,"y":0,"wires":[["o0","reply"]]},
             {"id":"reply","type":"tcp out","z":"t","beserver":"reply","x":0,"y":0,"wires":[]},
             {"id":"o0","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """);
        var port = ((TcpInNode)h.Engine.GetNode("n")!).LocalPort;
        using var client = await ConnectAsync(port);
        var stream = client.GetStream();
        await stream.WriteAsync("hello\nwor"u8.ToArray());
        await stream.WriteAsync("ld\nrest"u8.ToArray());
        var a = await h.NextAsync("o0");
        var b = await h.NextAsync("o0");
        Assert.Equal(["hello", "world"], new[] { a.Payload!.GetValue<string>(), b.Payload!.GetValue<string>() });
        Assert.Equal("tt", a.Topic);
        Assert.Equal("tcp", a.Data["_session"]!["type"]!.GetValue<string>());
        Assert.Equal(((IPEndPoint)client.Client.LocalEndPoint!).Port, Flows.Num(a.Data["port"]));
        Assert.Equal("helloworld", await ReadAsync(stream, 10));
        client.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal("rest", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Tcp_in_single_mode_sends_the_whole_buffer_when_the_connection_ends()
    {
        await using var h = await Flows.One("""{"type":"tcp in","server":"server","port":"0","datamode":"single","datatype":"buffer"}""");
        using (var client = await ConnectAsync(((TcpInNode)h.Engine.GetNode("n")!).LocalPort))
        {
            await client.GetStream().WriteAsync(new byte[] { 1, 2 });
            await client.GetStream().WriteAsync(new byte[] { 3 });
        }
        Assert.Equal(new byte[] { 1, 2, 3 }, JsonTools.BufferBytes((await h.NextAsync("o0")).Payload!));
    }

    [Fact]
    public async Task Tcp_out_client_writes_payloads_to_a_server()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var h = await Flows.One($$"""{"type":"tcp out","host":"127.0.0.1","port":"{{port}}","beserver":"client","base64":false}""", outputs: 0);
        using var accepted = await listener.AcceptTcpClientAsync();
        await Flows.UntilAsync(() => ((TcpOutNode)h.Engine.GetNode("n")!).Connected, "tcp out to connect");
        h.Send("n", JsonValue.Create("abc"));
        h.Send("n", JsonTools.Buffer([0x44]));
        h.Send("n", JsonValue.Create(5));
        Assert.Equal("abcD5", await ReadAsync(accepted.GetStream(), 5));
    }

    [Fact]
    public async Task Tcp_out_server_writes_to_every_connected_client_and_decodes_base64()
    {
        await using var h = await Flows.One("""{"type":"tcp out","port":"0","beserver":"server","base64":true}""", outputs: 0);
        var node = (TcpOutNode)h.Engine.GetNode("n")!;
        using var one = await ConnectAsync(node.LocalPort);
        using var two = await ConnectAsync(node.LocalPort);
        await Flows.UntilAsync(() => node.ClientCount == 2, "two clients");
        h.Send("n", JsonValue.Create(Convert.ToBase64String("hi"u8.ToArray())));
        Assert.Equal("hi", await ReadAsync(one.GetStream(), 2));
        Assert.Equal("hi", await ReadAsync(two.GetStream(), 2));
    }

    /// <summary>A server answering every chunk with "&lt;chunk&gt;!" in two writes, then staying open.</summary>
    private static (TcpListener Listener, Task Serving) EchoServer(CancellationToken ct)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = Task.Run(async () =>
        {
            while (!ct.IsCancellationRequested)
            {
                var c = await listener.AcceptTcpClientAsync(ct);
                _ = Task.Run(async () =>
                {
                    var buffer = new byte[1024];
                    var s = c.GetStream();
                    int n;
                    while ((n = await s.ReadAsync(buffer, ct)) > 0)
                    {
                        await s.WriteAsync(buffer.AsMemory(0, n), ct);
                        await s.WriteAsync("!\n"u8.ToArray(), ct);
                    }
                    c.Dispose();
                }, ct);
            }
        }, ct);
        return (listener, serving);
    }

    [Theory]
    [InlineData("time", "50", "ping!\n")]
    [InlineData("count", "3", "pin")]
    [InlineData("char", "!", "ping!")]
    public async Task Tcp_request_returns_the_reply_per_mode(string mode, string splitc, string expected)
    {
        using var cts = new CancellationTokenSource();
        var (listener, _) = EchoServer(cts.Token);
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var h = await Flows.One($$"""{"type":"tcp request","server":"127.0.0.1","port":"{{port}}","out":"{{mode}}","splitc":"{{splitc}}","ret":"string"}""");
        h.SendJson("n", """{"payload":"ping","topic":"kept"}""");
        var reply = await h.NextAsync("o0");
        Assert.Equal(expected, reply.Payload!.GetValue<string>());
        Assert.Equal("kept", reply.Topic);
        await cts.CancelAsync();
        listener.Stop();
    }

    [Fact]
    public async Task Tcp_request_sit_mode_keeps_the_connection_and_splits_lines()
    {
        using var cts = new CancellationTokenSource();
        var (listener, _) = EchoServer(cts.Token);
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var h = await Flows.One($$"""{"type":"tcp request","server":"","port":"","out":"sit","splitc":"0","ret":"string","newline":"\\n"}""");
        h.SendJson("n", $$"""{"payload":"a","host":"127.0.0.1","port":{{port}}}""");
        Assert.Equal("a!", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        h.SendJson("n", $$"""{"payload":"b","host":"127.0.0.1","port":{{port}}}""");
        Assert.Equal("b!", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        await cts.CancelAsync();
        listener.Stop();
    }

    [Fact]
    public async Task Tcp_request_without_host_warns()
    {
        await using var h = await Flows.One("""{"type":"tcp request","server":"","port":"","out":"time","splitc":"0"}""", extra: Flows.Handled);
        h.Send("n", JsonValue.Create("x"));
        await h.WaitForLogAsync(l => l.NodeId == "n" && l.Message.Contains("Host and/or port not set", StringComparison.Ordinal));
        await h.NextAsync("handled");
        await h.AssertNothingYetAsync("o0");
    }
}
