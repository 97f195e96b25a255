using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Tests;

/// <summary>
/// A device written frame by frame, as real firmware sends them: a raw websocket that opens with a status notification
/// and answers each request with whatever text <c>answer</c> returns (null: no answer). Records every request it got.
/// </summary>
public sealed class RawDevice : IAsyncDisposable
{
    private readonly ClientWebSocket _ws = new();
    private readonly Func<JsonObject, string?> _answer;
    private readonly List<JsonObject> _requests = [];
    private Task? _loop;

    private RawDevice(Func<JsonObject, string?> answer) => _answer = answer;

    public WebSocketCloseStatus? CloseStatus => _ws.CloseStatus;

    public IReadOnlyList<JsonObject> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public static async Task<RawDevice> ConnectAsync(string url, string firstFrame, Func<JsonObject, string?> answer)
    {
        var d = new RawDevice(answer);
        d._ws.Options.KeepAliveInterval = TimeSpan.Zero;
        await d._ws.ConnectAsync(new Uri(url), CancellationToken.None);
        await d.SendAsync(firstFrame);
        d._loop = d.LoopAsync();
        return d;
    }

    public Task SendAsync(string text) => _ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>The end of the connection (its close status) or null after the timeout.</summary>
    public async Task<WebSocketCloseStatus?> ClosedAsync(int timeoutMs = 10_000)
    {
        var loop = _loop!;
        return await Task.WhenAny(loop, Task.Delay(timeoutMs)) == loop ? _ws.CloseStatus : null;
    }

    private async Task LoopAsync()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (_ws.State == WebSocketState.Open)
            {
                var r = await _ws.ReceiveAsync(buffer, CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage)
                {
                    continue;
                }
                var frame = JsonNode.Parse(message.ToArray())!.AsObject();
                message.SetLength(0);
                lock (_requests)
                {
                    _requests.Add(frame);
                }
                if (_answer(frame) is { } reply)
                {
                    await SendAsync(reply);
                }
            }
        }
        catch (WebSocketException)
        {
        }
    }

    /// <summary>A result frame answering <paramref name="request"/>.</summary>
    public static string Result(JsonObject request, string src, JsonNode? result) =>
        new JsonObject { ["id"] = request["id"]!.DeepClone(), ["src"] = src, ["dst"] = request["src"]?.DeepClone(), ["result"] = result }.ToJsonString();

    public static string Error(JsonObject request, string src, int code, string message) =>
        new JsonObject { ["id"] = request["id"]!.DeepClone(), ["src"] = src, ["dst"] = request["src"]?.DeepClone(), ["error"] = new JsonObject { ["code"] = code, ["message"] = message } }.ToJsonString();

    /// <summary>A first frame: NotifyFullStatus of a one-switch device, switched off.</summary>
    public static string FullStatus(string id) => new JsonObject
    {
        ["src"] = id, ["method"] = "NotifyFullStatus", ["params"] = new JsonObject { ["ts"] = 1.0, ["switch:0"] = new JsonObject { ["id"] = 0, ["output"] = false } },
    }.ToJsonString();

    public static JsonObject Info(string id) => new() { ["name"] = null, ["id"] = id, ["mac"] = id[^12..].ToUpperInvariant(), ["model"] = "SPSW-201XE16EU", ["gen"] = 2, ["fw_id"] = "20241011-114455/1.4.4-g6d2a586", ["ver"] = "1.4.4", ["app"] = "Pro2" };

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_ws.State == WebSocketState.Open)
            {
                using var t = new CancellationTokenSource(2000);
                await _ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, t.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
        if (_loop is not null)
        {
            await Task.WhenAny(_loop, Task.Delay(2000));
        }
        _ws.Dispose();
    }
}
