using System.Net;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;
using FlowFleet.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Nodes.Core.Tests.Network;

/// <summary>
/// The tls-config's server name (SNI) and ALPN protocol as the http request node and the websocket client use them, against
/// Kestrel with TLS on loopback port 0. The server's certificate names only <c>sni.flowfleet.test</c> (issued by a test
/// CA), so with verification on a request to 127.0.0.1 passes only when the server name is the TLS target host; Kestrel
/// offers the ALPN protocol <c>flowfleet-test</c> beside http/1.1, and answers with the SNI name it saw and the protocol
/// negotiated.
/// </summary>
public sealed class TlsSniAlpnTests : IAsyncLifetime
{
    private const string ServerName = "sni.flowfleet.test";
    private const string Protocol = "flowfleet-test";
    private readonly TestPki _pki = TestPki.Create();
    private X509Certificate2 _cert = null!;
    private WebApplication _app = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _cert = _pki.ServerFor(ServerName);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listen.UseHttps(https =>
            {
                // The name the client sent (SNI), kept with the connection for the answer.
                https.ServerCertificateSelector = (connection, name) =>
                {
                    connection!.Items["sni"] = name ?? "";
                    return _cert;
                };
                https.OnAuthenticate = (_, ssl) => ssl.ApplicationProtocols = [new SslApplicationProtocol(Protocol), SslApplicationProtocol.Http11];
            });
        }));
        _app = builder.Build();
        _app.UseWebSockets();
        _app.Map("/tls", async (HttpContext c) =>
        {
            if (c.WebSockets.IsWebSocketRequest)
            {
                using var ws = await c.WebSockets.AcceptWebSocketAsync();
                await ws.SendAsync(Encoding.UTF8.GetBytes(Seen(c)), WebSocketMessageType.Text, true, c.RequestAborted);
                await ws.ReceiveAsync(new byte[16], c.RequestAborted);
                return;
            }
            await c.Response.WriteAsync(Seen(c));
        });
        await _app.StartAsync();
        _port = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _cert.Dispose();
        _pki.Dispose();
    }

    /// <summary>"sni=… alpn=… host=…" as this connection's TLS handshake and request had them.</summary>
    private static string Seen(HttpContext c)
    {
        var sni = c.Features.Get<IConnectionItemsFeature>()?.Items["sni"];
        var alpn = c.Features.Get<ITlsApplicationProtocolFeature>()?.ApplicationProtocol.ToArray() ?? [];
        return $"sni={sni} alpn={Encoding.ASCII.GetString(alpn)} host={c.Request.Host}";
    }

    private static JsonObject Tls(string id, string servername, string alpn, bool verify, string? ca)
    {
        var node = TlsNodeTests.TlsConfig(id, ca: ca, verify: verify, servername: servername);
        node["alpnprotocol"] = alpn;
        return node;
    }

    [Fact]
    public async Task Http_request_sends_the_server_name_as_SNI_checks_the_certificate_against_it_and_offers_the_ALPN_protocol()
    {
        var url = $"https://127.0.0.1:{_port}/tls";
        await using var h = await TlsNodeTests.LoadAsync(
            Tls("named", ServerName, Protocol, verify: true, ca: _pki.CaPem),
            Tls("plain", "", "", verify: false, ca: null),
            Tls("nameless", "", "", verify: true, ca: _pki.CaPem),
            JsonNode.Parse($$"""{"id":"req","type":"http request","z":"t","method":"GET","url":"{{url}}","ret":"txt","tls":"named","x":0,"y":0,"wires":[["got"]]}""")!,
            JsonNode.Parse($$"""{"id":"ctl","type":"http request","z":"t","method":"GET","url":"{{url}}","ret":"txt","tls":"plain","x":0,"y":0,"wires":[["got"]]}""")!,
            JsonNode.Parse($$"""{"id":"bad","type":"http request","z":"t","method":"GET","url":"{{url}}","ret":"txt","tls":"nameless","x":0,"y":0,"wires":[["got"]]}""")!);

        h.Send("req", JsonValue.Create(""));
        var ok = await h.NextAsync("got");
        Assert.Equal($"sni={ServerName} alpn={Protocol} host=127.0.0.1:{_port}", ok.Payload!.GetValue<string>());
        Assert.Equal(url, ok.Data["responseUrl"]!.GetValue<string>());

        // Without them (the handler's own TLS, which the named request went through before): no SNI for an IP address, no ALPN.
        h.Send("ctl", JsonValue.Create(""));
        Assert.Equal($"sni= alpn= host=127.0.0.1:{_port}", (await h.NextAsync("got")).Payload!.GetValue<string>());

        // The certificate names sni.flowfleet.test only: checked against 127.0.0.1 it is refused.
        h.Send("bad", JsonValue.Create(""));
        var error = (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>();
        Assert.Contains("is not valid for the server name", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Websocket_client_sends_the_server_name_as_SNI_and_offers_the_ALPN_protocol()
    {
        var url = $"wss://127.0.0.1:{_port}/tls";
        await using var h = await TlsNodeTests.LoadAsync(
            Tls("named", ServerName, Protocol, verify: true, ca: _pki.CaPem),
            JsonNode.Parse($$"""{"id":"wsc","type":"websocket-client","path":"{{url}}","tls":"named","wholemsg":"false"}""")!,
            JsonNode.Parse("""{"id":"wsin","type":"websocket in","z":"t","server":"","client":"wsc","x":0,"y":0,"wires":[["got"]]}""")!);
        Assert.Equal($"sni={ServerName} alpn={Protocol} host=127.0.0.1:{_port}", (await h.NextAsync("got")).Payload!.GetValue<string>());
    }
}
