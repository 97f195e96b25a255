using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Network;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Network;

/// <summary>Behaviour from Node-RED's <c>32-udpin_spec.js</c> and <c>32-udpout_spec.js</c>, over loopback on port 0.</summary>
public sealed class UdpNodeTests
{
    [Theory]
    [InlineData("utf8", "\"hello\"")]
    [InlineData("base64", "\"aGVsbG8=\"")]
    public async Task Udp_in_sends_each_datagram_with_the_sender(string datatype, string expected)
    {
        await using var h = await Flows.One($$"""{"type":"udp in","port":"0","ipv":"udp4","multicast":"false","datatype":"{{datatype}}"}""");
        var port = ((UdpInNode)h.Engine.GetNode("n")!).LocalPort;
        using var sender = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await sender.SendAsync("hello"u8.ToArray(), new IPEndPoint(IPAddress.Loopback, port));
        var msg = await h.NextAsync("o0");
        Assert.Equal(expected, msg.Payload!.ToJsonString());
        var from = (IPEndPoint)sender.Client.LocalEndPoint!;
        Assert.Equal("127.0.0.1", msg.Data["ip"]!.GetValue<string>());
        Assert.Equal(from.Port, Flows.Num(msg.Data["port"]));
        Assert.Equal("127.0.0.1:" + from.Port, msg.Data["fromip"]!.GetValue<string>());
    }

    [Fact]
    public async Task Udp_out_sends_to_the_configured_or_message_address()
    {
        using var receiver = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)receiver.Client.LocalEndPoint!).Port;
        await using var h = await Flows.One($$"""{"type":"udp out","addr":"127.0.0.1","port":"{{port}}","ipv":"udp4","base64":false,"multicast":"false"}""", outputs: 0);
        h.Send("n", JsonValue.Create("one"));
        using var cts = new CancellationTokenSource(FlowHarness.DefaultTimeout);
        Assert.Equal("one", Encoding.UTF8.GetString((await receiver.ReceiveAsync(cts.Token)).Buffer));
        await using var byMsg = await Flows.One("""{"type":"udp out","addr":"","port":"","ipv":"udp4","base64":true,"multicast":"false"}""", outputs: 0);
        byMsg.SendJson("n", $$"""{"payload":"dHdv","ip":"127.0.0.1","port":{{port}}}""");
        Assert.Equal("two", Encoding.UTF8.GetString((await receiver.ReceiveAsync(cts.Token)).Buffer));
    }

    [Fact]
    public async Task Udp_out_without_address_or_with_a_bad_port_warns()
    {
        await using var h = await Flows.One("""{"type":"udp out","addr":"","port":"","ipv":"udp4","multicast":"false"}""", outputs: 0);
        h.Send("n", JsonValue.Create("x"));
        h.SendJson("n", """{"payload":"x","ip":"127.0.0.1","port":70000}""");
        await Flows.UntilAsync(() => h.Logs.Count(l => l.Message.StartsWith("udp:", StringComparison.Ordinal)) >= 2, "two warnings");
        Assert.Contains(h.Logs, l => l.Message.Contains("ip address not set", StringComparison.Ordinal));
        Assert.Contains(h.Logs, l => l.Message.Contains("port number not valid", StringComparison.Ordinal));
    }
}
