using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>Node-RED's udp out: sends the payload as a datagram to an address, a broadcast or a multicast group.</summary>
[NodeType("udp out", Category = "network", Outputs = 0, Color = "Silver", Icon = "podcasts", Align = "right", LabelProperty = "addr",
    Help = """
    Sends `msg.payload` to `addr:port` (or `msg.ip`/`msg.port`) from local port `outport` (any when empty; a udp in on the
    same port shares its socket). `multicast`: false, broad (broadcast) or multi (joins group `addr`). `base64` decodes a
    base64 string payload first; buffers are sent as bytes, anything else as UTF-8 text.
    """)]
public sealed class UdpOutNode : FlowNode<UdpOutConfig>
{
    private UdpClient? _own;
    private UdpClient? _socket;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var v6 = Config.Ipv == "udp6";
        var outport = (int)JsonTools.ToNumber(Config.Outport);
        if (outport != 0 && UdpInNode.PortsInUse.TryGetValue(outport, out var shared))
        {
            _socket = shared;
            return Task.CompletedTask;
        }
        var socket = new UdpClient(v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        try
        {
            socket.Client.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Client.Bind(new IPEndPoint(v6 ? IPAddress.IPv6Any : IPAddress.Any, outport));
            if (Config.Multicast is "broad" or "multi")
            {
                socket.EnableBroadcast = true;
                socket.MulticastLoopback = false;
            }
            if (Config.Multicast == "multi")
            {
                socket.Ttl = 128;
                socket.JoinMulticastGroup(IPAddress.Parse(Config.Addr ?? ""));
            }
        }
        catch (Exception ex) when (ex is SocketException or FormatException)
        {
            socket.Dispose();
            throw new InvalidOperationException($"udp: {(ex is FormatException ? "bad multicast address" : ex.Message)}", ex);
        }
        _socket = _own = socket;
        return Task.CompletedTask;
    }

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (!msg.Data.ContainsKey("payload") || _socket is null)
        {
            return;
        }
        var address = !string.IsNullOrEmpty(Config.Addr) ? Config.Addr : msg.Data["ip"] is { } ip ? JsonTools.ToJsString(ip) : "";
        var port = JsonTools.ToNumber(Config.Port) is var p && p > 0 ? p : JsonTools.ToNumber(msg.Data["port"]);
        if (address.Length == 0)
        {
            Node.Warn("udp: ip address not set");
            return;
        }
        if (port == 0)
        {
            Node.Warn("udp: port not set");
            return;
        }
        if (double.IsNaN(port) || port < 1 || port > 65535)
        {
            Node.Warn("udp: port number not valid");
            return;
        }
        var bytes = NetData.ToBytes(msg.Payload, Config.Base64);
        try
        {
            await _socket.SendAsync(bytes, address, (int)port, cancellationToken);
        }
        catch (SocketException ex)
        {
            throw new InvalidOperationException("udp : " + ex.Message, ex);
        }
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _own?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class UdpOutConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Address")]
    public string? Addr { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Interface (multicast)")]
    public string? Iface { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "Port")]
    public JsonNode? Port { get; set; }

    [NodeProperty(Default = "\"udp4\"", UiHint = PropertyUi.Select, Options = ["udp4:ipv4", "udp6:ipv6"], Label = "Using")]
    public string? Ipv { get; set; } = "udp4";

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "Bind to local port (empty: random)")]
    public JsonNode? Outport { get; set; }

    [NodeProperty(Default = "false", Required = true, UiHint = PropertyUi.Checkbox, Label = "Decode Base64 encoded payload?")]
    public bool Base64 { get; set; }

    [NodeProperty(Default = "\"false\"", UiHint = PropertyUi.Select, Options = ["false:to port", "broad:as broadcast", "multi:to multicast group"], Label = "Send a")]
    public string? Multicast { get; set; } = "false";
}
