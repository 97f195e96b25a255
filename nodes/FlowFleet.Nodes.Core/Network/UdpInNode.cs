using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>Node-RED's udp in: one message per datagram received on a port (optionally joining a multicast group).</summary>
[NodeType("udp in", Category = "network", Inputs = 0, Color = "Silver", Icon = "podcasts", LabelProperty = "port",
    Help = """
    Listens on UDP `port` (`ipv` udp4 or udp6; `multicast: "true"` joins `group` on `iface`). Each datagram is a message
    with `payload` (`datatype` buffer, utf8 or base64), `ip`, `port` and `fromip` ("ip:port"). A udp out sending from the
    same port shares the socket.
    """)]
public sealed class UdpInNode : FlowNode<UdpInConfig>
{
    /// <summary>Node-RED's <c>udpInputPortsInUse</c>: sockets by local port, shared with udp out.</summary>
    internal static ConcurrentDictionary<int, UdpClient> PortsInUse { get; } = new();

    private UdpClient? _socket;
    private readonly CancellationTokenSource _stop = new();

    internal int LocalPort => (_socket?.Client.LocalEndPoint as IPEndPoint)?.Port ?? 0;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var v6 = Config.Ipv == "udp6";
        var port = (int)JsonTools.ToNumber(Config.Port);
        var socket = new UdpClient(v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        try
        {
            socket.Client.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Client.Bind(new IPEndPoint(v6 ? IPAddress.IPv6Any : IPAddress.Any, port));
            if (Config.Multicast == "true")
            {
                var group = IPAddress.Parse(Config.Group ?? "");
                socket.MulticastLoopback = false;
                socket.Ttl = 128;
                if (!string.IsNullOrEmpty(Config.Iface) && IPAddress.TryParse(Config.Iface, out var iface))
                {
                    socket.JoinMulticastGroup(group, iface);
                }
                else
                {
                    socket.JoinMulticastGroup(group);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or FormatException)
        {
            socket.Dispose();
            throw new InvalidOperationException($"udp: {(ex is FormatException ? "bad multicast address" : ex.Message)}", ex);
        }
        _socket = socket;
        PortsInUse[LocalPort] = socket;
        _ = ReceiveLoopAsync(socket);
        return Task.CompletedTask;
    }

    private async Task ReceiveLoopAsync(UdpClient socket)
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult r;
            try
            {
                r = await socket.ReceiveAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // ICMP port unreachable from an earlier send on a shared socket: keep listening.
                continue;
            }
            var ip = r.RemoteEndPoint.Address.IsIPv4MappedToIPv6 ? r.RemoteEndPoint.Address.MapToIPv4().ToString() : r.RemoteEndPoint.Address.ToString();
            Node.Send(new FlowMessage(new JsonObject
            {
                ["_msgid"] = MessageId.New(),
                ["payload"] = NetData.Decode(r.Buffer, Config.Datatype ?? "buffer"),
                ["fromip"] = ip + ":" + r.RemoteEndPoint.Port,
                ["ip"] = ip,
                ["port"] = r.RemoteEndPoint.Port,
            }));
        }
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _stop.Cancel();
        if (_socket is not null)
        {
            PortsInUse.TryRemove(new KeyValuePair<int, UdpClient>(LocalPort, _socket));
            _socket.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}

public sealed class UdpInConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Interface (multicast)")]
    public string? Iface { get; set; }

    [NodeProperty(Default = "\"\"", Required = true, UiHint = PropertyUi.Number, Label = "Port")]
    public JsonNode? Port { get; set; }

    [NodeProperty(Default = "\"udp4\"", UiHint = PropertyUi.Select, Options = ["udp4:ipv4", "udp6:ipv6"], Label = "Using")]
    public string? Ipv { get; set; } = "udp4";

    [NodeProperty(Default = "\"false\"", UiHint = PropertyUi.Select, Options = ["false:udp messages", "true:multicast messages"], Label = "Listen for")]
    public string? Multicast { get; set; } = "false";

    [NodeProperty(Default = "\"\"", Label = "Group")]
    public string? Group { get; set; }

    [NodeProperty(Default = "\"buffer\"", Required = true, UiHint = PropertyUi.Select, Options = ["buffer:a Buffer", "utf8:a String", "base64:a Base64 encoded string"], Label = "Output")]
    public string? Datatype { get; set; } = "buffer";
}
