using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>Node-RED's tcp request: sends the payload to a server and returns its answer.</summary>
[NodeType("tcp request", Category = "network", Color = "Silver", Icon = "settings_ethernet", LabelProperty = "server",
    Help = """
    Connects to `server:port` (or `msg.host`/`msg.port`), writes `msg.payload` and returns the reply, per `out`: **time**
    what arrives within `splitc` ms of the first byte; **count** `splitc` bytes; **char** up to and including the character
    `splitc`; **immed** nothing (close at once); **sit** keep the connection and send every chunk (split at `newline` when
    `ret` is string; `msg.reset` closes). The reply is a buffer or, with `ret: string`, text.
    """)]
public sealed class TcpRequestNode : FlowNode<TcpRequestConfig>
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Client> _clients = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private TlsConfigNode? _tls;
    private string? _tlsProblem;

    private sealed class Client
    {
        public Socket? Socket { get; set; }

        /// <summary>The socket's stream, or TLS over it; set once connected.</summary>
        public Stream? Stream { get; set; }

        public bool Connected { get; set; }

        public bool Connecting { get; set; }

        public Queue<FlowMessage> Queue { get; } = new();

        public FlowMessage LastMsg { get; set; } = null!;

        public MemoryStream Received { get; } = new();

        public ITimer? Timer { get; set; }

        public string Chunk { get; set; } = "";
    }

    private string Out => Config.Out ?? "time";

    private int SplitNumber => (int)JsonTools.StringToNumber(Config.Splitc ?? "0");

    private int SplitChar
    {
        get
        {
            var s = Config.Splitc ?? "";
            if (s.StartsWith('\\'))
            {
                return s switch { "\\n" => 10, "\\r" => 13, "\\t" => 9, "\\e" => 27, "\\f" => 12, "\\0" => 0, _ => s.Length > 1 ? s[1] : '\\' };
            }
            return s.StartsWith("0x", StringComparison.Ordinal) ? int.Parse(s[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) : s.Length > 0 ? s[0] : 0;
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(Config.Tls))
        {
            try
            {
                _tls = TlsConfigNode.Find(Node, Config.Tls);
                _ = _tls.Material;
            }
            catch (InvalidOperationException ex)
            {
                // Requests then fail with this reason (to catch nodes) rather than going out in plain text.
                _tlsProblem = ex.Message;
                Node.Status(new NodeStatus("red", "ring", "TLS error"));
            }
        }
        return Task.CompletedTask;
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (_tlsProblem is { } problem)
        {
            throw new InvalidOperationException("tcp request: " + problem);
        }
        if (msg.Payload is not null and not JsonValue && !JsonTools.IsBuffer(msg.Payload))
        {
            msg.Payload = JsonValue.Create(NetData.JsString(msg.Payload));
        }
        var host = string.IsNullOrEmpty(Config.Server) ? msg.Data["host"]?.ToString() : Config.Server;
        var port = JsonTools.ToNumber(Config.Port) is var p && p > 0 ? (int)p : (int)JsonTools.ToNumber(msg.Data["port"]);
        if (Out == "sit" && JsonTools.IsTruthy(msg.Data["reset"]))
        {
            lock (_lock)
            {
                foreach (var key in _clients.Keys.Where(k => msg.Data["reset"] is JsonValue v && (v.TryGetValue<bool>(out var all) ? all : v.ToString() == k)).ToList())
                {
                    _clients[key].Stream?.Dispose();
                    _clients[key].Socket?.Dispose();
                    _clients.Remove(key);
                }
                Node.Status(new NodeStatus("green", _clients.Count == 0 ? "ring" : "dot", $"{_clients.Count} connections"));
            }
            if (!msg.Data.ContainsKey("payload"))
            {
                return ValueTask.CompletedTask;
            }
        }
        if (string.IsNullOrEmpty(host) || port <= 0)
        {
            Node.Warn("Host and/or port not set");
            return ValueTask.CompletedTask;
        }
        var id = host + ":" + port.ToString(CultureInfo.InvariantCulture);
        Client client;
        var connect = false;
        lock (_lock)
        {
            if (!_clients.TryGetValue(id, out client!))
            {
                _clients[id] = client = new Client();
            }
            if (client.Queue.Count >= 1000)
            {
                client.Queue.Dequeue();
            }
            client.Queue.Enqueue(msg);
            client.LastMsg = msg;
            if (!client.Connected && !client.Connecting)
            {
                client.Connecting = connect = true;
            }
        }
        if (connect)
        {
            _ = ConnectAsync(id, client, host, port);
        }
        else if (client.Connected)
        {
            _ = FlushAsync(id, client);
        }
        return ValueTask.CompletedTask;
    }

    private async Task ConnectAsync(string id, Client client, string host, int port)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        client.Socket = socket;
        Stream stream;
        try
        {
            await socket.ConnectAsync(host, port, _stop.Token);
            stream = await TcpTls.ClientAsync(socket, _tls, host, _stop.Token);
        }
        catch (Exception ex) when (TcpTls.IsFailure(ex))
        {
            lock (_lock)
            {
                _clients.Remove(id);
            }
            socket.Dispose();
            if (_stop.IsCancellationRequested)
            {
                return;
            }
            Node.Error(_tls is not null && ex is not SocketException ? $"tcp request: TLS connection to {host}:{port} failed: {ex.Message}" : $"tcp request: {ex.Message}", client.LastMsg);
            Node.Status(new NodeStatus("red", "ring", "error"));
            return;
        }
        lock (_lock)
        {
            client.Stream = stream;
            client.Connected = true;
            client.Connecting = false;
            Node.Status(new NodeStatus("green", "dot", $"{_clients.Count} connections"));
        }
        _ = ReadAsync(id, client, stream);
        await FlushAsync(id, client);
        if (Out == "immed" || (Out == "time" && SplitNumber < 0))
        {
            Remove(id, client);
            if (stream is System.Net.Security.SslStream ssl)
            {
                await ssl.ShutdownAsync();
            }
            socket.Shutdown(SocketShutdown.Both);
            await stream.DisposeAsync();
            socket.Dispose();
            Node.Status(NodeStatus.Clear);
        }
    }

    private async Task FlushAsync(string id, Client client)
    {
        while (true)
        {
            FlowMessage next;
            lock (_lock)
            {
                if (client.Queue.Count == 0 || client.Stream is null)
                {
                    return;
                }
                next = client.Queue.Dequeue();
            }
            if (next.Data.ContainsKey("payload"))
            {
                try
                {
                    await client.Stream.WriteAsync(NetData.ToBytes(next.Payload, base64: false), _stop.Token);
                }
                catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException or NotSupportedException)
                {
                    return;
                }
            }
        }
    }

    private async Task ReadAsync(string id, Client client, Stream stream)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int n;
            try
            {
                n = await stream.ReadAsync(buffer, _stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                n = 0;
            }
            if (n == 0)
            {
                lock (_lock)
                {
                    client.Connected = client.Connecting = false;
                    if (_clients.TryGetValue(id, out var c) && c == client)
                    {
                        _clients.Remove(id);
                    }
                }
                Node.Status(new NodeStatus("grey", "ring", "disconnected"));
                return;
            }
            Received(id, client, buffer.AsSpan(0, n));
        }
    }

    private void Received(string id, Client client, ReadOnlySpan<byte> data)
    {
        if (Out == "sit")
        {
            var msg = client.LastMsg.Clone();
            if (Config.Ret == "string")
            {
                var newline = NetData.Unescape(Config.Newline);
                if (newline.Length > 0)
                {
                    client.Chunk += Encoding.UTF8.GetString(data);
                    var parts = client.Chunk.Split(newline);
                    for (var i = 0; i < parts.Length - 1; i++)
                    {
                        var m = msg.Clone();
                        m.Payload = JsonValue.Create(Config.Trim ? parts[i] + newline : parts[i]);
                        Node.Send(m);
                    }
                    client.Chunk = parts[^1];
                    return;
                }
                msg.Payload = JsonValue.Create(Encoding.UTF8.GetString(data));
            }
            else
            {
                msg.Payload = JsonTools.Buffer(data);
            }
            Node.Send(msg);
            return;
        }
        foreach (var b in data)
        {
            client.Received.WriteByte(b);
            if (Out == "time")
            {
                client.Timer ??= TimeProvider.System.CreateTimer(_ => Reply(id, client), null, TimeSpan.FromMilliseconds(Math.Max(0, SplitNumber)), Timeout.InfiniteTimeSpan);
            }
            else if ((Out == "count" && client.Received.Length >= Math.Max(1, SplitNumber)) || (Out == "char" && b == SplitChar))
            {
                Reply(id, client);
                return;
            }
        }
    }

    private void Reply(string id, Client client)
    {
        client.Timer?.Dispose();
        var msg = client.LastMsg.Clone();
        var bytes = client.Received.ToArray();
        client.Received.SetLength(0);
        msg.Payload = Config.Ret == "string" ? JsonValue.Create(Encoding.UTF8.GetString(bytes)) : JsonTools.Buffer(bytes);
        Node.Send(msg);
        Remove(id, client);
        client.Stream?.Dispose();
        client.Socket?.Dispose();
        Node.Status(NodeStatus.Clear);
    }

    private void Remove(string id, Client client)
    {
        lock (_lock)
        {
            client.Connected = client.Connecting = false;
            if (_clients.TryGetValue(id, out var c) && c == client)
            {
                _clients.Remove(id);
            }
        }
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _stop.Cancel();
        lock (_lock)
        {
            foreach (var c in _clients.Values)
            {
                c.Timer?.Dispose();
                c.Stream?.Dispose();
                c.Socket?.Dispose();
            }
            _clients.Clear();
        }
        return ValueTask.CompletedTask;
    }
}

public sealed class TcpRequestConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Server")]
    public string? Server { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "Port")]
    public JsonNode? Port { get; set; }

    [NodeProperty(Default = "\"time\"", Required = true, UiHint = PropertyUi.Select, Options = ["time:after a fixed timeout of (ms)", "char:when character received is", "count:a fixed number of chars", "sit:never - keep connection open", "immed:immediately - don't wait for reply"], Label = "Return")]
    public string? Out { get; set; } = "time";

    [NodeProperty(Default = "\"buffer\"", UiHint = PropertyUi.Select, Options = ["buffer:Buffer", "string:String"], Label = "Output")]
    public string? Ret { get; set; } = "buffer";

    [NodeProperty(Default = "\"0\"", Required = true, Label = "Split / timeout / count")]
    public string? Splitc { get; set; } = "0";

    [NodeProperty(Default = "\"\"", Label = "Delimited by (sit, string)")]
    public string? Newline { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Re-attach delimiter")]
    public bool Trim { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Config, ConfigType = "tls-config", Label = "TLS")]
    public string? Tls { get; set; }
}
