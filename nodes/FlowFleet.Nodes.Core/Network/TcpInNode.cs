using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>Node-RED's tcp in: listens on a port (or connects to a server) and sends what arrives.</summary>
[NodeType("tcp in", Category = "network", Inputs = 0, Color = "Silver", Icon = "settings_ethernet",
    Help = """
    `server: "server"` listens on `port`; `"client"` connects to `host:port` (reconnecting after a loss). Data leaves as
    `datatype` buffer, utf8 or base64: each chunk (`datamode: stream`, split at `newline` for utf8 text, keeping it when
    `trim`), or all of it when the connection ends (`single`). Messages carry `topic`, `ip`, `port` and `_session` so a
    **tcp out** in reply mode can answer.
    """)]
public sealed class TcpInNode : FlowNode<TcpInConfig>
{
    internal static readonly TimeSpan ReconnectTime = TimeSpan.FromSeconds(10);
    private readonly CancellationTokenSource _stop = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TcpSession> _own = new(StringComparer.Ordinal);
    private TcpListener? _listener;
    private TlsConfigNode? _tls;
    private System.Net.Security.SslServerAuthenticationOptions? _serverTls;
    private int _count;

    /// <summary>The port listened on (the one the system chose for port 0).</summary>
    internal int LocalPort => (_listener?.LocalEndpoint as IPEndPoint)?.Port ?? 0;

    private bool _tlsFailed;

    private bool IsServer => Config.Server is not "client";

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(Config.Tls))
        {
            _tls = TlsConfigNode.Find(Node, Config.Tls);
        }
        if (IsServer)
        {
            // A listener without its certificate would accept clients it cannot serve: refuse to start instead.
            _serverTls = _tls?.ServerOptions();
            _listener = new TcpListener(IPAddress.IPv6Any, Config.Port);
            _listener.Server.DualMode = true;
            try
            {
                _listener.Start();
            }
            catch (SocketException ex)
            {
                throw new InvalidOperationException($"Cannot bind to port {Config.Port}: {ex.Message}", ex);
            }
            _ = AcceptLoopAsync(_listener);
        }
        else
        {
            _ = ClientLoopAsync();
        }
        return Task.CompletedTask;
    }

    private Task AcceptLoopAsync(TcpListener listener) => TcpTls.AcceptLoopAsync(listener, _serverTls, Node, async (socket, stream) =>
    {
        var session = TcpSessions.Add(socket, stream);
        _own[session.Id] = session;
        Node.Status(new NodeStatus(Text: $"{Interlocked.Increment(ref _count)} connections"));
        await ReadLoopAsync(session, remote: socket.RemoteEndPoint as IPEndPoint);
        _own.TryRemove(session.Id, out _);
        session.Dispose();
        Node.Status(new NodeStatus(Text: $"{Interlocked.Decrement(ref _count)} connections"));
    }, _stop.Token);

    private async Task ClientLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Node.Status(new NodeStatus("grey", "dot", "connecting"));
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            var gotData = false;
            try
            {
                var host = Config.Host ?? "localhost";
                await socket.ConnectAsync(host, Config.Port, _stop.Token);
                var session = TcpSessions.Add(socket, await TcpTls.ClientAsync(socket, _tls, host, _stop.Token));
                _tlsFailed = false;
                _own[session.Id] = session;
                Node.Status(new NodeStatus("green", "dot", "connected"));
                gotData = await ReadLoopAsync(session, remote: null);
                _own.TryRemove(session.Id, out _);
                session.Dispose();
            }
            catch (Exception ex) when (TcpTls.IsFailure(ex))
            {
                socket.Dispose();
                if (_tls is not null && !_tlsFailed && !_stop.IsCancellationRequested && ex is not SocketException)
                {
                    // Reported once per run of failures, not at every reconnect.
                    _tlsFailed = true;
                    Node.Error($"TLS connection to {Config.Host}:{Config.Port} failed: {ex.Message}");
                }
            }
            if (_stop.IsCancellationRequested)
            {
                return;
            }
            Node.Status(new NodeStatus("red", "ring", "disconnected"));
            try
            {
                // A server that closed after sending gets one quick reconnect, as in Node-RED.
                await Task.Delay(gotData ? TimeSpan.FromMilliseconds(20) : ReconnectTime, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Reads until the peer closes; true when a single-mode message was sent at the end.</summary>
    private async Task<bool> ReadLoopAsync(TcpSession session, IPEndPoint? remote)
    {
        var datatype = Config.Datatype ?? "buffer";
        var stream = Config.Datamode is null or "stream";
        var newline = NetData.Unescape(Config.Newline);
        var decoder = Encoding.UTF8.GetDecoder();
        var text = new StringBuilder();
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int n;
            try
            {
                n = await session.Stream.ReadAsync(buffer, _stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                n = 0;
            }
            if (n == 0)
            {
                break;
            }
            if (stream && datatype == "utf8" && newline.Length > 0)
            {
                var chars = new char[decoder.GetCharCount(buffer, 0, n)];
                decoder.GetChars(buffer, 0, n, chars, 0);
                text.Append(chars);
                var parts = text.ToString().Split(newline);
                for (var i = 0; i < parts.Length - 1; i++)
                {
                    Node.Send(Message(JsonValue.Create(Config.Trim ? parts[i] + newline : parts[i]), session, remote));
                }
                text.Clear().Append(parts[^1]);
            }
            else if (stream)
            {
                Node.Send(Message(NetData.Decode(buffer.AsSpan(0, n), datatype), session, remote));
            }
            else
            {
                all.Write(buffer, 0, n);
            }
        }
        var rest = !stream ? NetData.Decode(all.ToArray(), datatype) : text.Length > 0 ? JsonValue.Create(text.ToString()) : null;
        if (rest is not null && (!stream || datatype == "utf8") && all.Length + text.Length > 0)
        {
            Node.Send(Message(rest, session, remote));
            return true;
        }
        return false;
    }

    private FlowMessage Message(JsonNode payload, TcpSession session, IPEndPoint? remote)
    {
        var msg = new JsonObject { ["_msgid"] = MessageId.New(), ["topic"] = Config.Topic, ["payload"] = payload };
        if (remote is not null)
        {
            msg["ip"] = remote.Address.IsIPv4MappedToIPv6 ? "::ffff:" + remote.Address.MapToIPv4() : remote.Address.ToString();
            msg["port"] = remote.Port;
        }
        msg["_session"] = NetData.Session(session.Id);
        return new FlowMessage(msg);
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _stop.Cancel();
        _listener?.Stop();
        foreach (var s in _own.Values)
        {
            s.End();
        }
        return ValueTask.CompletedTask;
    }
}

public sealed class TcpInConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"server\"", Required = true, UiHint = PropertyUi.Select, Options = ["server:Listen on", "client:Connect to"], Label = "Type")]
    public string? Server { get; set; } = "server";

    [NodeProperty(Default = "\"\"", Label = "Host (client)")]
    public string? Host { get; set; }

    [NodeProperty(Default = "\"\"", Required = true, UiHint = PropertyUi.Number, Label = "Port")]
    public int Port { get; set; }

    [NodeProperty(Default = "\"stream\"", UiHint = PropertyUi.Select, Options = ["stream:stream of", "single:single"], Label = "Output")]
    public string? Datamode { get; set; } = "stream";

    [NodeProperty(Default = "\"buffer\"", UiHint = PropertyUi.Select, Options = ["buffer:Buffer", "utf8:String", "base64:Base64 String"], Label = "Data type")]
    public string? Datatype { get; set; } = "buffer";

    [NodeProperty(Default = "\"\"", Label = "Delimited by (utf8 stream)")]
    public string? Newline { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Topic")]
    public string? Topic { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Re-attach delimiter")]
    public bool Trim { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Hidden)]
    public bool Base64 { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Config, ConfigType = "tls-config", Label = "TLS")]
    public string? Tls { get; set; }
}
