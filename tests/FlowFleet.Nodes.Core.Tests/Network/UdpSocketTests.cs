using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Network;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Network;

/// <summary>udp out sharing the socket of a udp in on its port, broadcast sockets, and bad multicast settings.</summary>
public sealed class UdpSocketTests
{
    [Fact]
    public async Task Udp_out_on_the_port_of_a_udp_in_sends_from_that_socket_so_answers_come_back_to_the_flow()
    {
        using var peer = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var peerPort = ((IPEndPoint)peer.Client.LocalEndPoint!).Port;
        await using var h = await Flows.One("""{"type":"udp in","port":"0","ipv":"udp4","multicast":"false","datatype":"utf8"}""");
        var inPort = ((UdpInNode)h.Engine.GetNode("n")!).LocalPort;
        await using var o = await Flows.One($$"""{"type":"udp out","addr":"127.0.0.1","port":"{{peerPort}}","outport":"{{inPort}}","ipv":"udp4","multicast":"false"}""", outputs: 0);
        o.Send("n", JsonValue.Create("ping"));
        using var cts = new CancellationTokenSource(FlowHarness.DefaultTimeout);
        var got = await peer.ReceiveAsync(cts.Token);
        Assert.Equal("ping", Encoding.UTF8.GetString(got.Buffer));
        Assert.Equal(inPort, got.RemoteEndPoint.Port);
        await peer.SendAsync("pong"u8.ToArray(), got.RemoteEndPoint, cts.Token);
        Assert.Equal("pong", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task A_broadcast_socket_still_sends_to_one_address()
    {
        using var receiver = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)receiver.Client.LocalEndPoint!).Port;
        await using var h = await Flows.One($$"""{"type":"udp out","addr":"127.0.0.1","port":"{{port}}","ipv":"udp4","multicast":"broad","base64":false}""", outputs: 0);
        h.Send("n", JsonValue.Create("to all"));
        using var cts = new CancellationTokenSource(FlowHarness.DefaultTimeout);
        Assert.Equal("to all", Encoding.UTF8.GetString((await receiver.ReceiveAsync(cts.Token)).Buffer));
    }

    [Theory]
    [InlineData("""{"type":"udp out","addr":"not-a-group","port":"1234","ipv":"udp4","multicast":"multi"}""", 0)]
    [InlineData("""{"type":"udp in","port":"0","ipv":"udp4","multicast":"true","group":"not-a-group","datatype":"utf8"}""", 1)]
    public async Task A_bad_multicast_group_stops_the_node_with_a_clear_error(string node, int outputs)
    {
        await using var h = await Flows.One(node, outputs: outputs);
        Assert.Contains("udp: bad multicast address", (await h.WaitForLogAsync(l => l.NodeId == "n" && l.Level == "error")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Udp_out_with_an_address_but_no_port_warns_and_a_message_without_payload_is_ignored()
    {
        await using var h = await Flows.One("""{"type":"udp out","addr":"127.0.0.1","port":"","ipv":"udp4","multicast":"false"}""", outputs: 0);
        h.SendJson("n", """{"topic":"no payload"}""");
        h.Send("n", JsonValue.Create("x"));
        Assert.Equal("udp: port not set", (await h.WaitForLogAsync(l => l.NodeId == "n" && l.Level == "warn")).Message);
        Assert.Single(h.Logs, l => l.NodeId == "n" && l.Level == "warn");
    }
}
