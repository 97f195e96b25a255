using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>What Node-RED's <c>WebSocketListenerNode</c> does for both config node types: connections, events, fan-out.</summary>
public abstract class WebSocketEndpointNode<TConfig> : FlowNode<TConfig>, IWebSocketEndpoint where TConfig : class
{
    private readonly ConcurrentDictionary<string, Connection> _connections = new(StringComparer.Ordinal);
    private readonly List<INodeHost> _inputs = [];
    private readonly Lock _lock = new();

    protected sealed class Connection(WebSocket socket)
    {
        public string Id { get; } = MessageId.New();

        public WebSocket Socket { get; } = socket;

        public SemaphoreSlim Send { get; } = new(1, 1);
    }

    public event Action<string, string, string>? Changed;

    public abstract bool WholeMsg { get; }

    protected abstract bool IsServer { get; }

    protected int Count => _connections.Count;

    public void AddInput(INodeHost input)
    {
        lock (_lock)
        {
            _inputs.Add(input);
        }
    }

    public void RemoveInput(INodeHost input)
    {
        lock (_lock)
        {
            _inputs.Remove(input);
        }
    }

    protected void Raise(string evt, string id) => Changed?.Invoke(evt, IsServer ? Count.ToString(System.Globalization.CultureInfo.InvariantCulture) : "", id);

    /// <summary>Serves one connection: registers it, turns each message into a message for the websocket in nodes.</summary>
    protected async Task ServeAsync(WebSocket socket, CancellationToken ct)
    {
        var connection = new Connection(socket);
        _connections[connection.Id] = connection;
        Raise("opened", connection.Id);
        var buffer = new byte[16 * 1024];
        using var frame = new MemoryStream();
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var r = await socket.ReceiveAsync(buffer, ct);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    break;
                }
                frame.Write(buffer, 0, r.Count);
                if (frame.Length > 64L * 1024 * 1024)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, "message too big", CancellationToken.None);
                    break;
                }
                if (r.EndOfMessage)
                {
                    var bytes = frame.ToArray();
                    frame.SetLength(0);
                    Deliver(connection.Id, r.MessageType == WebSocketMessageType.Text ? JsonValue.Create(Encoding.UTF8.GetString(bytes)) : JsonTools.Buffer(bytes));
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            if (!ct.IsCancellationRequested)
            {
                Raise("erro", connection.Id);
            }
        }
        finally
        {
            _connections.TryRemove(connection.Id, out _);
            connection.Send.Dispose();
            Raise("closed", connection.Id);
        }
    }

    private void Deliver(string id, JsonNode data)
    {
        JsonObject msg;
        if (WholeMsg)
        {
            JsonNode? parsed;
            try
            {
                parsed = JsonTools.Parse(JsonTools.IsBuffer(data) ? Encoding.UTF8.GetString(JsonTools.BufferBytes(data)) : data.GetValue<string>());
            }
            catch (System.Text.Json.JsonException)
            {
                parsed = new JsonObject { ["payload"] = data };
            }
            msg = parsed as JsonObject ?? new JsonObject { ["payload"] = parsed is JsonArray ? parsed : JsonTools.Detach(parsed) };
        }
        else
        {
            msg = new JsonObject { ["payload"] = data };
        }
        msg["_session"] = NetData.Session(id, "websocket");
        msg["_msgid"] ??= MessageId.New();
        List<INodeHost> inputs;
        lock (_lock)
        {
            inputs = [.. _inputs];
        }
        foreach (var input in inputs)
        {
            input.Send(new FlowMessage((JsonObject)msg.DeepClone()));
        }
    }

    public async Task BroadcastAsync(object data, CancellationToken cancellationToken)
    {
        foreach (var c in _connections.Values)
        {
            await SendAsync(c, data, cancellationToken);
        }
    }

    public Task ReplyAsync(string id, object data, CancellationToken cancellationToken) =>
        _connections.TryGetValue(id, out var c) ? SendAsync(c, data, cancellationToken) : Task.CompletedTask;

    private async Task SendAsync(Connection c, object data, CancellationToken ct)
    {
        try
        {
            await c.Send.WaitAsync(ct);
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        try
        {
            if (c.Socket.State == WebSocketState.Open)
            {
                await (data is byte[] bytes
                    ? c.Socket.SendAsync(bytes, WebSocketMessageType.Binary, true, ct)
                    : c.Socket.SendAsync(Encoding.UTF8.GetBytes((string)data), WebSocketMessageType.Text, true, ct));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            Node.Warn("An error occurred sending a websocket message: " + ex.Message);
        }
        finally
        {
            try
            {
                c.Send.Release();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    protected async Task CloseAllAsync()
    {
        foreach (var c in _connections.Values)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await c.Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
            c.Socket.Abort();
        }
    }
}
