using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Function;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Http;

/// <summary>Node-RED's http request: calls a URL and sends the response on.</summary>
[NodeType("http request", Category = "network", Inputs = 1, Outputs = 1, Color = "#e7e7ae", Icon = "public",
    Help = """
    Calls `url` (Mustache: `https://host/api/{{payload.id}}`; or `msg.url` when empty) with `method` (`use` = `msg.method`).
    Sends `msg.payload` as the body (JSON for objects), or as query parameters with `paytoqs`. `msg.headers` are added.
    Returns `msg.payload` as text, a buffer or parsed JSON (`ret`), with `msg.statusCode`, `msg.headers`, `msg.responseUrl`.
    Times out after `reqTimeout` ms (default 120000) or `msg.requestTimeout`. `tls` names a tls-config: its CA verifies
    https servers, its certificate and key authenticate the client, its server name is sent as SNI and its ALPN protocol
    offered (without a proxy). `proxy` names an http proxy to send through.
    """)]
public sealed class HttpRequestNode : FlowNode<HttpRequestConfig>
{
    private static readonly HttpClient s_client = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = true })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    // With a tls-config or an http proxy the node has its own client: certificates and proxy are properties of the connection pool.
    private HttpClient? _tlsClient;
    private string? _tlsProblem;
    private volatile string? _refused;

    // A tls-config with a server name or ALPN protocol: https requests go through TlsTunnel (no proxy in between).
    private bool _tunnel;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(Config.Tls) && string.IsNullOrEmpty(Config.Proxy))
        {
            return Task.CompletedTask;
        }
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = true };
        try
        {
            if (!string.IsNullOrEmpty(Config.Tls))
            {
                // SocketsHttpHandler sets the target host and ALPN per request; certificates and the CA check come from here.
                var tls = Network.TlsConfigNode.Find(Node, Config.Tls);
                handler.SslOptions = tls.ClientOptions("", rejected: why => _refused = why);
                if (Network.TlsTunnel.Wanted(tls) && string.IsNullOrEmpty(Config.Proxy))
                {
                    // Server name (SNI) and ALPN protocol: only TLS of our own applies them.
                    handler.ConnectCallback = Network.TlsTunnel.Connect(host => tls.ClientOptions(host, rejected: why => _refused = why));
                    _tunnel = true;
                }
            }
            if (!string.IsNullOrEmpty(Config.Proxy))
            {
                handler.Proxy = HttpProxyNode.Find(Node, Config.Proxy).Proxy();
                handler.UseProxy = true;
            }
            _tlsClient = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        }
        catch (InvalidOperationException ex)
        {
            // Each request then fails with this reason (to catch nodes) rather than going out without the certificates or proxy.
            handler.Dispose();
            _tlsProblem = ex.Message;
            Node.Status(new NodeStatus("red", "ring", string.IsNullOrEmpty(Config.Proxy) ? "TLS error" : "TLS/proxy error"));
        }
        return Task.CompletedTask;
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _tlsClient?.Dispose();
        return ValueTask.CompletedTask;
    }

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (_tlsProblem is { } problem)
        {
            throw new InvalidOperationException(problem);
        }
        var template = string.IsNullOrEmpty(Config.Url) ? JsonTools.ToJsString(msg.Data["url"]) : Config.Url;
        var url = Mustache.Render(template, msg.Data);
        if (!url.Contains("://", StringComparison.Ordinal))
        {
            url = "http://" + url;
        }
        var methodName = Config.Method is null or "use" ? JsonTools.ToJsString(msg.Data["method"] ?? JsonValue.Create("GET")) : Config.Method;
        var method = new HttpMethod(methodName.ToUpperInvariant());
        if (Config.Paytoqs == "query" && msg.Payload is JsonObject q)
        {
            var parts = q.Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(JsonTools.ToJsString(kv.Value)));
            url += (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + string.Join("&", parts);
        }
        using var request = new HttpRequestMessage(method, url);
        if (method != HttpMethod.Get && method != HttpMethod.Head && Config.Paytoqs != "query" && msg.Payload is { } payload)
        {
            request.Content = JsonTools.IsBuffer(payload)
                ? new ByteArrayContent(JsonTools.BufferBytes(payload))
                : payload is JsonObject or JsonArray
                    ? new StringContent(payload.ToJsonString(), Encoding.UTF8, "application/json")
                    : new StringContent(JsonTools.ToJsString(payload), Encoding.UTF8, "text/plain");
        }
        foreach (var (k, v) in msg.Data["headers"] as JsonObject ?? [])
        {
            if (v is null)
            {
                continue;
            }
            if (!request.Headers.TryAddWithoutValidation(k, JsonTools.ToJsString(v)) && request.Content is not null)
            {
                request.Content.Headers.Remove(k);
                request.Content.Headers.TryAddWithoutValidation(k, JsonTools.ToJsString(v));
            }
        }
        var requested = request.RequestUri!;
        var tunnelled = _tunnel && requested.Scheme == Uri.UriSchemeHttps;
        if (tunnelled)
        {
            Network.TlsTunnel.Route(request);
        }
        var timeoutMs = msg.Data["requestTimeout"] is { } rt ? JsonTools.ToNumber(rt) : Config.ReqTimeout > 0 ? Config.ReqTimeout : 120_000;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromMilliseconds(timeoutMs));
        Node.Status(new NodeStatus("blue", "dot", "requesting"));
        HttpResponseMessage response;
        try
        {
            response = await (_tlsClient ?? s_client).SendAsync(request, cts.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Node.Status(new NodeStatus("red", "ring", ex is OperationCanceledException ? "timeout" : "error"));
            throw new InvalidOperationException(ex is OperationCanceledException ? $"Request timed out after {timeoutMs} ms" : Describe(ex), ex);
        }
        using (response)
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            msg.Data["statusCode"] = (int)response.StatusCode;
            var headers = new JsonObject();
            foreach (var h in response.Headers.Concat(response.Content.Headers))
            {
                headers[h.Key.ToLowerInvariant()] = string.Join(", ", h.Value);
            }
            msg.Data["headers"] = headers;
            var final = response.RequestMessage?.RequestUri;
            msg.Data["responseUrl"] = final is null ? url : (tunnelled ? Network.TlsTunnel.Restore(final, requested) : final).ToString();
            msg.Payload = Config.Ret switch
            {
                "bin" => JsonTools.Buffer(bytes),
                "obj" => ParseJson(bytes),
                _ => JsonValue.Create(Encoding.UTF8.GetString(bytes)),
            };
        }
        Node.Status(NodeStatus.Clear);
        Node.Send(msg);
    }

    /// <summary>"The SSL connection could not be established, see inner exception" says nothing: the inner reasons do.</summary>
    private string Describe(Exception ex)
    {
        if (ex.InnerException is System.Security.Authentication.AuthenticationException auth)
        {
            var why = _tlsClient is not null ? _refused : null;
            return $"{ex.Message.Split(", see inner")[0]}: {why ?? auth.InnerException?.Message ?? auth.Message}";
        }
        return ex.Message;
    }

    private JsonNode? ParseJson(byte[] bytes)
    {
        try
        {
            return bytes.Length == 0 ? null : JsonNode.Parse(bytes);
        }
        catch (JsonException)
        {
            Node.Warn("The response was not valid JSON; sent as text");
            return JsonValue.Create(Encoding.UTF8.GetString(bytes));
        }
    }
}

public sealed class HttpRequestConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"GET\"", UiHint = PropertyUi.Select, Options = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "use:- set by msg.method -"], Label = "Method")]
    public string? Method { get; set; } = "GET";

    [NodeProperty(Default = "\"\"", Label = "URL")]
    public string? Url { get; set; }

    [NodeProperty(Default = "\"ignore\"", UiHint = PropertyUi.Select, Options = ["ignore:Ignore", "query:Append to query-string parameters", "body:Send as request body"], Label = "Payload")]
    public string? Paytoqs { get; set; } = "ignore";

    [NodeProperty(Default = "\"txt\"", UiHint = PropertyUi.Select, Options = ["txt:a UTF-8 string", "bin:a binary buffer", "obj:a parsed JSON object"], Label = "Return")]
    public string? Ret { get; set; } = "txt";

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "Timeout (ms)")]
    public double ReqTimeout { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Config, ConfigType = "tls-config", Label = "TLS configuration")]
    public string? Tls { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Config, ConfigType = "http proxy", Label = "Proxy")]
    public string? Proxy { get; set; }
}
