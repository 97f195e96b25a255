using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>Node-RED's tcp out: writes payloads to a server, to the clients of a port it listens on, or back to a tcp in connection.</summary>
[NodeType("tcp out", Category = "network", Outputs = 0, Color = "Silver", Icon = "settings_ethernet", Align = "right",
    Help = """
    `beserver`: **client** connects to `host:port` (reconnecting) and writes each payload; **server** listens on `port` and
    writes to every connected client; **reply** answers the tcp in connection named by `msg._session` (all of them when
    there is none; `msg.reset` closes). Buffers are written as bytes, strings as UTF-8 (base64-decoded when `base64`).
    `end` closes the connection after each write.
    """)]
public sealed class TcpOutNode : FlowNode<TcpOutConfig>
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, TcpSession> _clients = new(StringComparer.Ordinal);
    private TcpListener? _listener;
    private TcpSession? _client;
    private TlsConfigNode? _tls;
    private System.Net.Security.SslServerAuthenticationOptions? _serverTls;
    private bool _tlsFailed;
    private TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal int LocalPort => (_listener?.LocalEndpoint as IPEndPoint)?.Port ?? 0;

    /// <summary>Clients connected to the server mode (tests).</summary>
    internal int ClientCount => _clients.Count;

    /// <summary>True while the client connection is up (tests).</summary>
    internal bool Connected => _client is not null;

    private string Mode => string.IsNullOrEmpty(Config.Beserver) ? "client" : Config.Beserver;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(Config.Tls) && Mode != "reply")
        {
            // Reply mode writes to tcp in's connections, which carry that node's TLS already.
            _tls = TlsConfigNode.Find(Node, Config.Tls);
            _serverTls = Mode == "server" ? _tls.ServerOptions() : null;
        }
        switch (Mode)
        {
            case "client":
                _ = ClientLoopAsync();
                break;
            case "server":
                _listener = new TcpListener(IPAddress.IPv6Any, (int)JsonTools.ToNumber(Config.Port));
                _listener.Server.DualMode = true;
                try
                {
                    _listener.Start();
                }
                catch (SocketException ex)
                {
                    throw new InvalidOperationException($"Cannot bind to port {Config.Port}: {ex.Message}", ex);
                }
                Node.Status(new NodeStatus(Text: "0 connections"));
                _ = AcceptLoopAsync(_listener);
                break;
        }
        return Task.CompletedTask;
    }

    private Task AcceptLoopAsync(TcpListener listener) => TcpTls.AcceptLoopAsync(listener, _serverTls, Node, async (socket, stream) =>
    {
        var session = new TcpSession(socket, stream);
        _clients[session.Id] = session;
        Node.Status(new NodeStatus(Text: $"{_clients.Count} connections"));
        await DrainAsync(stream);
        _clients.TryRemove(session.Id, out _);
        session.Dispose();
        Node.Status(new NodeStatus(Text: $"{_clients.Count} connections"));
    }, _stop.Token);

    private async Task ClientLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Node.Status(new NodeStatus("grey", "dot", "connecting"));
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            var quick = false;
            try
            {
                var host = Config.Host ?? "localhost";
                await socket.ConnectAsync(host, (int)JsonTools.ToNumber(Config.Port), _stop.Token);
                var stream = await TcpTls.ClientAsync(socket, _tls, host, _stop.Token);
                _tlsFailed = false;
                _ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _client = new TcpSession(socket, stream);
                Node.Status(new NodeStatus("green", "dot", "connected"));
                var drained = DrainAsync(stream);
                quick = await Task.WhenAny(drained, _ended.Task) == _ended.Task;
            }
            catch (Exception ex) when (TcpTls.IsFailure(ex))
            {
                if (_tls is not null && !_tlsFailed && !_stop.IsCancellationRequested && ex is not SocketException)
                {
                    _tlsFailed = true;
                    Node.Error($"TLS connection to {Config.Host}:{Config.Port} failed: {ex.Message}");
                }
            }
            var old = _client;
            _client = null;
            old?.Dispose();
            socket.Dispose();
            if (_stop.IsCancellationRequested)
            {
                return;
            }
            Node.Status(new NodeStatus("red", "ring", "disconnected"));
            try
            {
                await Task.Delay(quick ? TimeSpan.FromMilliseconds(20) : TcpInNode.ReconnectTime, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Reads and drops what the peer sends until it closes (Node-RED ignores it too).</summary>
    private async Task DrainAsync(Stream stream)
    {
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer, _stop.Token) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var payload = msg.Payload;
        switch (Mode)
        {
            case "client":
                if (_client is { } client && payload is not null)
                {
                    await client.WriteAsync(NetData.ToBytes(payload, Config.Base64), cancellationToken);
                    if (Config.End)
                    {
                        Node.Status(NodeStatus.Clear);
                        _ended.TrySetResult();
                    }
                }
                break;
            case "reply":
                var reset = msg.Data["reset"] is JsonValue r && r.TryGetValue<bool>(out var rb) && rb;
                var targets = msg.Data["_session"] is JsonObject s && s["type"]?.ToString() == "tcp"
                    ? TcpSessions.Pool.TryGetValue(s["id"]?.ToString() ?? "", out var one) ? [one] : []
                    : msg.Data["_session"] is null ? TcpSessions.Pool.Values.ToList() : [];
                foreach (var t in targets)
                {
                    if (reset)
                    {
                        t.Socket.Close();
                    }
                    else
                    {
                        await t.WriteAsync(NetData.ToBytes(payload, Config.Base64), cancellationToken);
                    }
                }
                break;
            default:
                if (payload is not null)
                {
                    var bytes = NetData.ToBytes(payload, Config.Base64);
                    foreach (var c in _clients.Values)
                    {
                        await c.WriteAsync(bytes, cancellationToken);
                        if (Config.End)
                        {
                            await c.EndAsync();
                        }
                    }
                }
                break;
        }
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _stop.Cancel();
        _listener?.Stop();
        foreach (var c in _clients.Values)
        {
            c.End();
            c.Dispose();
        }
        _client?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class TcpOutConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Host")]
    public string? Host { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "Port")]
    public JsonNode? Port { get; set; }

    [NodeProperty(Default = "\"client\"", Required = true, UiHint = PropertyUi.Select, Options = ["server:Listen on", "client:Connect to", "reply:Reply to TCP"], Label = "Type")]
    public string? Beserver { get; set; } = "client";

    [NodeProperty(Default = "false", Required = true, UiHint = PropertyUi.Checkbox, Label = "Decode Base64 message?")]
    public bool Base64 { get; set; }

    [NodeProperty(Default = "false", Required = true, UiHint = PropertyUi.Checkbox, Label = "Close connection after each message is sent?")]
    public bool End { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Config, ConfigType = "tls-config", Label = "TLS")]
    public string? Tls { get; set; }
}
