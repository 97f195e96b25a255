using System.Net.WebSockets;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>Node-RED's websocket-client config node: an outgoing websocket connection, reconnected every 3 s when lost.</summary>
[NodeType("websocket-client", Category = "config", Inputs = 0, Outputs = 0, LabelProperty = "path",
    Help = """
    Connects to the websocket URL `path` (`ws://` or `wss://`), with `subprotocol` (comma separated) and upgrade `headers`
    (`[{keyType, keyValue, valueType, valueValue}]`), pinging every `hb` seconds when set. `wholemsg: "true"` sends and
    receives whole messages as JSON. `tls` names a tls-config for `wss://`: certificates, CA check, server name (SNI) and
    ALPN protocol.
    """)]
public sealed class WebSocketClientNode : WebSocketEndpointNode<WebSocketClientConfig>
{
    internal static readonly TimeSpan ReconnectTime = TimeSpan.FromSeconds(3);
    private readonly CancellationTokenSource _stop = new();
    private TlsConfigNode? _tls;

    public override bool WholeMsg => Config.Wholemsg?.ToString() == "true";

    protected override bool IsServer => false;

    /// <summary>True while the connection is open (tests).</summary>
    internal bool Connected => Count > 0;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(Config.Tls))
        {
            _tls = TlsConfigNode.Find(Node, Config.Tls);
            _ = _tls.Material;
        }
        if (!Uri.TryCreate(Config.Path, UriKind.Absolute, out var uri) || uri.Scheme is not ("ws" or "wss"))
        {
            throw new InvalidOperationException($"websocket-client: '{Config.Path}' is not a ws:// or wss:// URL");
        }
        _ = RunAsync(uri);
        return Task.CompletedTask;
    }

    private async Task RunAsync(Uri uri)
    {
        while (!_stop.IsCancellationRequested)
        {
            using var socket = new ClientWebSocket();
            foreach (var p in (Config.Subprotocol ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                socket.Options.AddSubProtocol(p);
            }
            foreach (var h in Config.Headers ?? [])
            {
                var name = h?["keyType"]?.ToString() == "other" ? h["keyValue"]?.ToString() : h?["keyType"]?.ToString();
                var valueType = h?["valueType"]?.ToString();
                var value = valueType switch
                {
                    "other" => h?["valueValue"]?.ToString(),
                    "env" => Node.GetEnv(h?["valueValue"]?.ToString() ?? ""),
                    _ => valueType,
                };
                if (!string.IsNullOrEmpty(name) && !string.IsNullOrEmpty(value))
                {
                    socket.Options.SetRequestHeader(name, value);
                }
            }
            // A server name (SNI) or ALPN protocol needs TLS of our own beneath the handshake (TlsTunnel); else
            // ClientWebSocket's TLS takes the tls-config's certificates and CA check.
            using var tunnel = _tls is { } t && TlsTunnel.Wanted(t) && uri.Scheme == "wss"
                ? new SocketsHttpHandler { ConnectCallback = TlsTunnel.Connect(host => t.ClientOptions(host, rejected: why => _refused = why), always: true) }
                : null;
            if (tunnel is not null)
            {
                socket.Options.SetRequestHeader("Host", uri.Authority);
            }
            else if (_tls is { } tls)
            {
                // Node-RED hands the tls-config's options to ws: client certificate, CA check of the server, verify on/off.
                var verify = tls.VerifyServerCert ?? true;
                if (tls.Material.Certificate is { } cert)
                {
                    socket.Options.ClientCertificates = [cert];
                }
                socket.Options.RemoteCertificateValidationCallback = (_, c, chain, errors) =>
                {
                    var ok = tls.ValidateServer(c, chain, errors, verify, out var problem);
                    _refused = problem;
                    return ok;
                };
            }
            if (JsonTools.ToNumber(Config.Hb) is var hb && hb > 0)
            {
                socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(hb);
                socket.Options.KeepAliveTimeout = TimeSpan.FromSeconds(hb);
            }
            try
            {
                if (tunnel is not null)
                {
                    using var invoker = new HttpMessageInvoker(tunnel, disposeHandler: false);
                    await socket.ConnectAsync(TlsTunnel.Plain(uri), invoker, _stop.Token);
                }
                else
                {
                    await socket.ConnectAsync(uri, _stop.Token);
                }
                _tlsFailed = false;
                await ServeAsync(socket, _stop.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException)
            {
                if (_tls is not null && !_tlsFailed && FindAuthenticationError(ex) is { } tlsError)
                {
                    // A refused certificate does not heal by reconnecting: say so once, not at every retry.
                    _tlsFailed = true;
                    Node.Error($"websocket-client: TLS connection to {uri} failed: {_refused ?? tlsError}");
                }
                Raise("erro", "");
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                await Task.Delay(ReconnectTime, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private bool _tlsFailed;
    private volatile string? _refused;

    private static string? FindAuthenticationError(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is System.Security.Authentication.AuthenticationException)
            {
                return e.Message;
            }
        }
        return null;
    }

    public override async ValueTask CloseAsync(bool removed)
    {
        await CloseAllAsync();
        await _stop.CancelAsync();
    }
}

public sealed class WebSocketClientConfig
{
    [NodeProperty(Default = "\"\"", Required = true, Label = "URL")]
    public string? Path { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Config, ConfigType = "tls-config", Label = "TLS")]
    public string? Tls { get; set; }

    [NodeProperty(Default = "\"false\"", UiHint = PropertyUi.Select, Options = ["false:payload", "true:entire message"], Label = "Send/Receive")]
    public JsonNode? Wholemsg { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "Send heartbeat (s)")]
    public JsonNode? Hb { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Subprotocol")]
    public string? Subprotocol { get; set; }

    [NodeProperty(Default = "[]", UiHint = PropertyUi.Json, Label = "Headers")]
    public JsonArray? Headers { get; set; }
}
