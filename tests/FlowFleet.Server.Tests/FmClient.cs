using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests;

/// <summary>A client that talks as Shelly fleet manager's web UI does: <c>new WebSocket(url, token)</c>, frames from its code.</summary>
public sealed class FmClient : IAsyncDisposable
{
    private readonly ClientWebSocket _ws = new();
    private readonly List<JsonObject> _inbox = [];
    private Task? _reader;

    public static async Task<FmClient> ConnectAsync(ServerFixture s, string token, string path = "/")
    {
        var c = new FmClient();
        c._ws.Options.AddSubProtocol(token);
        await c._ws.ConnectAsync(new Uri($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}{path}"), CancellationToken.None);
        c._reader = c.ReadAsync();
        return c;
    }

    public string? SubProtocol => _ws.SubProtocol;

    private async Task ReadAsync()
    {
        var buffer = new byte[1 << 20];
        try
        {
            while (_ws.State == WebSocketState.Open)
            {
                var r = await _ws.ReceiveAsync(buffer, CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
                lock (_inbox)
                {
                    _inbox.Add(JsonNode.Parse(buffer.AsSpan(0, r.Count))!.AsObject());
                }
            }
        }
        catch (WebSocketException)
        {
        }
    }

    public Task SendAsync(string json) => _ws.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);

    public List<JsonObject> Frames(Func<JsonObject, bool> match)
    {
        lock (_inbox)
        {
            return _inbox.Where(match).ToList();
        }
    }

    /// <summary>Waits for <paramref name="count"/> frames matching, returns them.</summary>
    public async Task<List<JsonObject>> WaitAsync(Func<JsonObject, bool> match, string what, int count = 1, int timeoutMs = 10_000)
    {
        await Poll.UntilAsync(() => Task.FromResult(Frames(match).Count >= count), what, timeoutMs);
        return Frames(match);
    }

    /// <summary>Sends a <c>dst:"FLEET_MANAGER"</c> call as FM's UI does and waits for the answer with that id.</summary>
    public async Task<JsonObject> CallAsync(int id, string method, string paramsJson = "{}")
    {
        await SendAsync($$"""{"jsonrpc":"2.0","id":{{id}},"method":"{{method}}","src":"FLEET_MANAGER_UI","dst":"FLEET_MANAGER","params":{{paramsJson}}}""");
        return (await WaitAsync(f => f["id"]?.ToJsonString() == id.ToString(System.Globalization.CultureInfo.InvariantCulture) && f["method"] is null, $"answer to {method}"))[0];
    }

    public static bool IsEvent(JsonObject f, string method, string? shellyId = null) =>
        f["method"]?.GetValue<string>() == method && (shellyId is null || f["params"]?["shellyID"]?.GetValue<string>() == shellyId);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_ws.State == WebSocketState.Open)
            {
                await _ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            }
        }
        catch (WebSocketException)
        {
        }
        if (_reader is not null)
        {
            await Task.WhenAny(_reader, Task.Delay(3000));
        }
        _ws.Dispose();
    }
}
