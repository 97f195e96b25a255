using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Tests;

/// <summary>
/// A raw websocket "device" that reports an id and answers every RPC (GetDeviceInfo with its own model), optionally from
/// another loopback address (127.0.0.2) so the server sees a different device address.
/// </summary>
internal sealed class RawClaimant : IAsyncDisposable
{
    private readonly ClientWebSocket _ws = new();
    private readonly HttpMessageInvoker? _invoker;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    private RawClaimant(string? localAddress)
    {
        if (localAddress is not null)
        {
            _invoker = new HttpMessageInvoker(new SocketsHttpHandler
            {
                ConnectCallback = async (context, ct) =>
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            });
        }
    }

    public string Model { get; private init; } = "IMPOSTOR";

    /// <summary>RPC methods the server called, in order.</summary>
    public List<string> Calls { get; } = [];

    public WebSocketState State => _ws.State;

    public WebSocketCloseStatus? CloseStatus => _ws.CloseStatus;

    private readonly TaskCompletionSource<WebSocketCloseStatus?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the close code once the server closes the connection.</summary>
    public Task<WebSocketCloseStatus?> Closed => _closed.Task;

    public static async Task<RawClaimant> ConnectAsync(string shellyUrl, string id, string? token, string model = "IMPOSTOR", string? localAddress = null)
    {
        var c = new RawClaimant(localAddress) { Model = model };
        var uri = new Uri(shellyUrl + (token is null ? "" : "?token=" + token));
        if (c._invoker is null)
        {
            await c._ws.ConnectAsync(uri, CancellationToken.None);
        }
        else
        {
            await c._ws.ConnectAsync(uri, c._invoker, CancellationToken.None);
        }
        var frame = new JsonObject { ["src"] = id, ["method"] = "NotifyFullStatus", ["params"] = new JsonObject { ["sys"] = new JsonObject { ["name"] = model }, ["switch:0"] = new JsonObject { ["output"] = true } } };
        await c._ws.SendAsync(Encoding.UTF8.GetBytes(frame.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        c._loop = c.AnswerAsync(id);
        return c;
    }

    private async Task AnswerAsync(string id)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var r = await _ws.ReceiveAsync(buffer, _stop.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    _closed.TrySetResult(_ws.CloseStatus);
                    return;
                }
                if (JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, r.Count)) is not JsonObject request || request["method"]?.GetValue<string>() is not { } method)
                {
                    continue;
                }
                lock (Calls)
                {
                    Calls.Add(method);
                }
                JsonNode result = method == "Shelly.GetDeviceInfo"
                    ? new JsonObject { ["id"] = id, ["model"] = Model, ["app"] = "Impostor", ["ver"] = "6.6.6", ["gen"] = 2, ["mac"] = "000000000000" }
                    : new JsonObject();
                var reply = new JsonObject { ["id"] = request["id"]?.DeepClone(), ["src"] = id, ["dst"] = request["src"]?.DeepClone(), ["result"] = result };
                await _ws.SendAsync(Encoding.UTF8.GetBytes(reply.ToJsonString()), WebSocketMessageType.Text, true, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _closed.TrySetResult(_ws.CloseStatus);
        }
    }

    public bool WasCalled(string method)
    {
        lock (Calls)
        {
            return Calls.Contains(method);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
        _ws.Dispose();
        _invoker?.Dispose();
        _stop.Dispose();
    }
}
