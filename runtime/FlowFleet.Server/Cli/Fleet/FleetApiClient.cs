using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace FlowFleet.Server.Cli.Fleet;

/// <summary>A failure the fleet CLI explains to its user in one line (wrong server, refused token, bad input).</summary>
public sealed class FleetCliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// The running server as the fleet CLI reaches it: REST (<c>/api/*</c>, <c>/red/auth/token</c>) with a bearer token, and
/// one <c>/client</c> JSON-RPC websocket (opened on first use) for calls and live events.
/// </summary>
public sealed class FleetApiClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _server;
    private readonly string? _token;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _waiting = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly SemaphoreSlim _openLock = new(1, 1);
    private ClientWebSocket? _ws;
    private Task? _reader;
    private int _nextId;

    public FleetApiClient(string server, string? token, HttpMessageHandler? handler = null)
    {
        if (!Uri.TryCreate(server.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new FleetCliException($"\"{server}\" is not a server address; give one like http://127.0.0.1:7011 (--server or the settings file)", 2);
        }
        _server = uri;
        _token = token;
        _http = handler is null ? new HttpClient() : new HttpClient(handler, false);
        _http.Timeout = TimeSpan.FromSeconds(100);
        if (!string.IsNullOrEmpty(token))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public Uri Server => _server;

    /// <summary>Live events of the <c>/client</c> connection (after <see cref="SubscribeAsync"/>).</summary>
    public Channel<JsonObject> Events { get; } = Channel.CreateBounded<JsonObject>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });

    public async Task<JsonNode?> GetAsync(string path, CancellationToken ct) => await SendAsync(HttpMethod.Get, path, null, ct);

    public async Task<JsonNode?> PostAsync(string path, JsonNode? body, CancellationToken ct) => await SendAsync(HttpMethod.Post, path, body, ct);

    public async Task<JsonNode?> SendDeleteAsync(string path, CancellationToken ct) => await SendAsync(HttpMethod.Delete, path, null, ct);

    public async Task<JsonNode?> PutAsync(string path, JsonNode? body, CancellationToken ct) => await SendAsync(HttpMethod.Put, path, body, ct);

    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonNode? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, new Uri(_server, path.TrimStart('/')));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException ex)
        {
            throw Unreachable(ex);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new FleetCliException($"{_server} did not answer in time", 2);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode is HttpStatusCode.Unauthorized)
            {
                throw Refused();
            }
            if (response.StatusCode is HttpStatusCode.Forbidden)
            {
                throw new FleetCliException($"Not allowed: your user's role does not permit {method} {path}", 3);
            }
            JsonNode? parsed = null;
            try
            {
                parsed = text.Length == 0 ? null : JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.NotFound)
                {
                    throw new FleetCliException($"{_server} does not look like a FlowFleet server ({method} /{path.TrimStart('/')} answered {(int)response.StatusCode} with something that is not JSON)", 2);
                }
            }
            if (!response.IsSuccessStatusCode)
            {
                var message = parsed?["error"] is JsonObject e ? e["message"]?.ToString() : parsed?["error"]?.ToString() ?? parsed?["message"]?.ToString();
                throw new FleetCliException($"{(int)response.StatusCode} {response.ReasonPhrase}: {message ?? text}");
            }
            return parsed;
        }
    }

    private FleetCliException Unreachable(Exception ex) =>
        new($"Cannot reach a FlowFleet server at {_server}: {(ex.InnerException as SocketException)?.Message ?? ex.Message}. Check --server (or 'server:' in the settings file).", 2);

    private FleetCliException Refused() => string.IsNullOrEmpty(_token)
        ? new FleetCliException($"{_server} needs a token: give --token, FLOWFLEET_TOKEN or 'token:' in the settings file (get one with 'flowfleet devices login')", 3)
        : new FleetCliException($"{_server} refused the token (401): it is wrong, expired or revoked. Get a new one with 'flowfleet devices login'.", 3);

    /// <summary>Logs in with a user and password (Node-RED's <c>/red/auth/token</c>); returns the access token.</summary>
    public async Task<string> LoginAsync(string user, string password, CancellationToken ct)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["client_id"] = "flowfleet-cli", ["grant_type"] = "password", ["scope"] = "*", ["username"] = user, ["password"] = password,
        });
        HttpResponseMessage response;
        try
        {
            response = await _http.PostAsync(new Uri(_server, "red/auth/token"), form, ct);
        }
        catch (HttpRequestException ex)
        {
            throw Unreachable(ex);
        }
        using (response)
        {
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct) is { Length: > 0 } t && t.TrimStart().StartsWith('{') ? t : "{}");
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                throw new FleetCliException("Invalid username or password", 3);
            }
            return body?["access_token"]?.ToString() ?? throw new FleetCliException($"{_server} did not hand out a token ({(int)response.StatusCode}: {body?["message"]})", 2);
        }
    }

    /// <summary>One JSON-RPC call on <c>/client</c>; a JSON-RPC error becomes a <see cref="FleetRpcError"/>.</summary>
    public async Task<JsonNode?> CallAsync(string method, JsonObject parameters, CancellationToken ct)
    {
        await OpenAsync(ct);
        var id = Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[id] = tcs;
        try
        {
            var frame = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method, ["params"] = parameters };
            await SendFrameAsync(frame, ct);
            var answer = await tcs.Task.WaitAsync(ct);
            if (answer["error"] is JsonObject error)
            {
                throw new FleetRpcError(error["code"]?.GetValue<int>() ?? 0, error["message"]?.ToString() ?? "error");
            }
            return answer["result"];
        }
        finally
        {
            _waiting.TryRemove(id, out _);
        }
    }

    /// <summary>Subscribes the connection to events (<c>Events.Subscribe</c>), optionally only for some devices.</summary>
    public Task SubscribeAsync(IEnumerable<string> events, IEnumerable<string>? devices, CancellationToken ct)
    {
        var p = new JsonObject { ["events"] = new JsonArray(events.Select(e => (JsonNode?)e).ToArray()) };
        if (devices is not null)
        {
            p["devices"] = new JsonArray(devices.Select(d => (JsonNode?)d).ToArray());
        }
        return CallAsync("Events.Subscribe", p, ct);
    }

    public Task UnsubscribeAsync(CancellationToken ct) => _ws is null ? Task.CompletedTask : CallAsync("Events.Unsubscribe", [], ct);

    private async Task OpenAsync(CancellationToken ct)
    {
        if (_ws is { State: WebSocketState.Open })
        {
            return;
        }
        await _openLock.WaitAsync(ct);
        try
        {
            if (_ws is { State: WebSocketState.Open })
            {
                return;
            }
            _ws?.Dispose();
            var ws = new ClientWebSocket();
            if (!string.IsNullOrEmpty(_token))
            {
                ws.Options.SetRequestHeader("Authorization", "Bearer " + _token);
            }
            var uri = new UriBuilder(new Uri(_server, "client")) { Scheme = _server.Scheme == "https" ? "wss" : "ws" }.Uri;
            try
            {
                await ws.ConnectAsync(uri, ct);
            }
            catch (WebSocketException ex)
            {
                ws.Dispose();
                if (ex.Message.Contains("401", StringComparison.Ordinal))
                {
                    throw Refused();
                }
                throw ex.InnerException is HttpRequestException inner ? Unreachable(inner) : new FleetCliException($"{uri} did not accept a websocket: {ex.Message}", 2);
            }
            _ws = ws;
            _reader = Task.Run(() => ReadLoopAsync(ws));
        }
        finally
        {
            _openLock.Release();
        }
    }

    private async Task SendFrameAsync(JsonObject frame, CancellationToken ct)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(frame);
        await _sendLock.WaitAsync(ct);
        try
        {
            await _ws!.SendAsync(bytes, WebSocketMessageType.Text, true, ct);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReadLoopAsync(ClientWebSocket ws)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (ws.State == WebSocketState.Open)
            {
                var r = await ws.ReceiveAsync(buffer, CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage)
                {
                    continue;
                }
                var frame = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length)) as JsonObject;
                message.SetLength(0);
                if (frame is null)
                {
                    continue;
                }
                if (frame["method"] is not null && frame["id"] is null)
                {
                    Events.Writer.TryWrite(frame);
                }
                else if (frame["id"] is JsonValue idValue && idValue.TryGetValue<int>(out var id) && _waiting.TryGetValue(id, out var tcs))
                {
                    tcs.TrySetResult(frame);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or JsonException or ObjectDisposedException)
        {
            // The connection ended; callers waiting for answers are failed below.
        }
        foreach (var waiting in _waiting.Values)
        {
            waiting.TrySetException(new FleetCliException($"The connection to {_server} closed ({ws.CloseStatusDescription ?? "no reason given"})", 2));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ws is { State: WebSocketState.Open } ws)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                ws.Abort();
            }
        }
        if (_reader is not null)
        {
            await Task.WhenAny(_reader, Task.Delay(TimeSpan.FromSeconds(2)));
        }
        _ws?.Dispose();
        _http.Dispose();
        _sendLock.Dispose();
        _openLock.Dispose();
    }
}

/// <summary>An error answered by the server or a device to one call (per-device results keep it instead of failing all).</summary>
public sealed class FleetRpcError(int code, string message) : Exception(message)
{
    public int Code { get; } = code;
}
