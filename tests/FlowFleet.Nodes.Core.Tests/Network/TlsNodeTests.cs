using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Network;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Network;

/// <summary>
/// The tls-config node used by tcp in/out/request, http request and websocket-client, against TLS servers on loopback port 0
/// whose certificates come from a throw-away CA made in the test.
/// </summary>
public sealed class TlsNodeTests
{
    /// <summary>A tls-config node "id" with PEM credentials (as uploaded) and the flags given.</summary>
    internal static JsonObject TlsConfig(string id, string? cert = null, string? key = null, string? ca = null, bool verify = true, JsonObject? files = null, string servername = "")
    {
        var creds = new JsonObject();
        if (cert is not null)
        {
            creds["certdata"] = cert;
        }
        if (key is not null)
        {
            creds["keydata"] = key;
        }
        if (ca is not null)
        {
            creds["cadata"] = ca;
        }
        var node = new JsonObject { ["id"] = id, ["type"] = "tls-config", ["name"] = id, ["verifyservercert"] = verify, ["servername"] = servername, ["credentials"] = creds };
        foreach (var (k, v) in files ?? [])
        {
            node[k] = v?.DeepClone();
        }
        return node;
    }

    /// <summary>A tab "t" with the nodes, helper nodes "got" and "err", and a catch node feeding "err".</summary>
    internal static Task<FlowHarness> LoadAsync(params JsonNode[] nodes)
    {
        var flows = new JsonArray(
            new JsonObject { ["id"] = "t", ["type"] = "tab" },
            JsonNode.Parse("""{"id":"got","type":"helper","z":"t","x":0,"y":0,"wires":[]}"""),
            JsonNode.Parse("""{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}"""),
            JsonNode.Parse("""{"id":"c","type":"catch","z":"t","scope":null,"uncaught":false,"x":0,"y":0,"wires":[["err"]]}"""));
        foreach (var n in nodes)
        {
            flows.Add(n);
        }
        return FlowHarness.LoadAsync(flows.ToJsonString());
    }

    private static JsonNode Node(string json) => JsonNode.Parse(json)!;

    private static string Text(FlowMessage m) => JsonTools.IsBuffer(m.Payload) ? Encoding.UTF8.GetString(JsonTools.BufferBytes(m.Payload!)) : m.Payload!.GetValue<string>();

    [Fact]
    public async Task Tcp_in_serves_tls_from_key_files_and_tcp_request_talks_to_it_with_the_custom_ca()
    {
        using var pki = TestPki.Create();
        var dir = Directory.CreateTempSubdirectory("ff-tls-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "server.pem"), pki.ServerCertPem);
            await File.WriteAllTextAsync(Path.Combine(dir, "server.key"), pki.ServerKeyPem);
            var files = new JsonObject { ["cert"] = Path.Combine(dir, "server.pem"), ["key"] = Path.Combine(dir, "server.key") };
            await using var h = await LoadAsync(
                TlsConfig("srv", files: files),
                TlsConfig("cli", ca: pki.CaPem),
                Node("""{"id":"in","type":"tcp in","z":"t","server":"server","port":0,"datamode":"stream","datatype":"utf8","newline":"","tls":"srv","x":0,"y":0,"wires":[["got","reply"]]}"""),
                Node("""{"id":"reply","type":"tcp out","z":"t","beserver":"reply","x":0,"y":0,"wires":[]}"""),
                Node("""{"id":"req","type":"tcp request","z":"t","server":"127.0.0.1","port":"","out":"char","splitc":"\\n","ret":"string","tls":"cli","x":0,"y":0,"wires":[["answer"]]}"""),
                Node("""{"id":"answer","type":"helper","z":"t","x":0,"y":0,"wires":[]}"""));
            var port = ((TcpInNode)h.Engine.GetNode("in")!).LocalPort;
            h.SendJson("req", $$"""{"payload":"ping\n","port":{{port}}}""");
            Assert.Equal("ping\n", Text(await h.NextAsync("got")));
            Assert.Equal("ping\n", Text(await h.NextAsync("answer")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Tcp_request_refuses_a_server_its_ca_did_not_issue_unless_verification_is_off()
    {
        using var pki = TestPki.Create();
        using var other = TestPki.Create("Some Other CA");
        await using var server = new TlsTestServer(pki, requireClientCertificate: false, TlsTestServer.EchoAsync);
        await using var h = await LoadAsync(
            TlsConfig("wrongca", ca: other.CaPem),
            TlsConfig("noverify", ca: other.CaPem, verify: false),
            Node($$"""{"id":"strict","type":"tcp request","z":"t","server":"127.0.0.1","port":"{{server.Port}}","out":"count","splitc":"4","ret":"string","tls":"wrongca","x":0,"y":0,"wires":[["got"]]}"""),
            Node($$"""{"id":"lax","type":"tcp request","z":"t","server":"127.0.0.1","port":"{{server.Port}}","out":"count","splitc":"4","ret":"string","tls":"noverify","x":0,"y":0,"wires":[["got"]]}"""));
        h.Send("strict", JsonValue.Create("abcd"));
        var error = await h.NextAsync("err");
        var message = error.Data["error"]!["message"]!.GetValue<string>();
        Assert.Contains("TLS connection to 127.0.0.1:" + server.Port + " failed", message, StringComparison.Ordinal);
        Assert.Contains("the server certificate (CN=localhost, issued by CN=FlowFleet Test CA) was not issued by the configured CA certificate", message, StringComparison.Ordinal);
        h.Send("lax", JsonValue.Create("wxyz"));
        Assert.Equal("wxyz", Text(await h.NextAsync("got")));
    }

    [Fact]
    public async Task Tcp_out_client_presents_its_client_certificate()
    {
        using var pki = TestPki.Create();
        var received = System.Threading.Channels.Channel.CreateUnbounded<string>();
        await using var server = new TlsTestServer(pki, requireClientCertificate: true, async (ssl, ct) =>
        {
            var buffer = new byte[3];
            await ssl.ReadExactlyAsync(buffer, ct);
            received.Writer.TryWrite(ssl.RemoteCertificate!.Subject + " " + Encoding.UTF8.GetString(buffer));
        });
        await using var h = await LoadAsync(
            TlsConfig("tc", cert: pki.ClientCertPem, key: pki.ClientKeyPem, ca: pki.CaPem),
            Node($$"""{"id":"out","type":"tcp out","z":"t","host":"localhost","port":"{{server.Port}}","beserver":"client","tls":"tc","x":0,"y":0,"wires":[]}"""));
        var node = (TcpOutNode)h.Engine.GetNode("out")!;
        await Flows.UntilAsync(() => node.Connected, "tcp out to connect over TLS");
        h.Send("out", JsonValue.Create("abc"));
        using var cts = new CancellationTokenSource(FlowHarness.DefaultTimeout);
        Assert.Equal("CN=flowfleet-test-client abc", await received.Reader.ReadAsync(cts.Token));
    }

    [Fact]
    public async Task Http_request_trusts_the_custom_ca_and_authenticates_with_the_client_certificate()
    {
        using var pki = TestPki.Create();
        await using var server = new TlsTestServer(pki, requireClientCertificate: true, TlsTestServer.HttpHelloAsync);
        var url = $"https://localhost:{server.Port}/hello";
        await using var h = await LoadAsync(
            TlsConfig("full", cert: pki.ClientCertPem, key: pki.ClientKeyPem, ca: pki.CaPem),
            TlsConfig("caonly", ca: pki.CaPem),
            Node($$"""{"id":"withtls","type":"http request","z":"t","method":"GET","url":"{{url}}","ret":"txt","tls":"full","x":0,"y":0,"wires":[["got"]]}"""),
            Node($$"""{"id":"nocert","type":"http request","z":"t","method":"GET","url":"{{url}}","ret":"txt","tls":"caonly","x":0,"y":0,"wires":[["got"]]}"""),
            Node($$"""{"id":"system","type":"http request","z":"t","method":"GET","url":"{{url}}","ret":"txt","x":0,"y":0,"wires":[["got"]]}"""));
        h.Send("withtls", JsonValue.Create(""));
        var ok = await h.NextAsync("got");
        Assert.Equal(200, Flows.Num(ok.Data["statusCode"]));
        Assert.Equal("hello CN=flowfleet-test-client", ok.Payload!.GetValue<string>());

        // The system's trusted roots do not know the test CA: without the tls-config the request fails.
        h.Send("system", JsonValue.Create(""));
        var untrusted = (await h.NextAsync("err")).Data["error"]!;
        Assert.Equal("system", untrusted["source"]!["id"]!.GetValue<string>());
        Assert.StartsWith("The SSL connection could not be established: ", untrusted["message"]!.GetValue<string>(), StringComparison.Ordinal);
        // Trusting the CA is not enough for a server that wants a client certificate.
        h.Send("nocert", JsonValue.Create(""));
        Assert.Equal("nocert", (await h.NextAsync("err")).Data["error"]!["source"]!["id"]!.GetValue<string>());
        await h.AssertNothingAsync("got", TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Websocket_client_connects_over_wss_with_the_custom_ca_and_reports_an_untrusted_one()
    {
        using var pki = TestPki.Create();
        using var other = TestPki.Create("Some Other CA");
        await using var server = new TlsTestServer(pki, requireClientCertificate: true, TlsTestServer.WebSocketHelloAsync);
        var url = $"wss://localhost:{server.Port}/ws";
        await using var h = await LoadAsync(
            TlsConfig("tc", cert: pki.ClientCertPem, key: pki.ClientKeyPem, ca: pki.CaPem),
            TlsConfig("bad", cert: pki.ClientCertPem, key: pki.ClientKeyPem, ca: other.CaPem),
            Node($$"""{"id":"wsc","type":"websocket-client","path":"{{url}}","tls":"tc","wholemsg":"false"}"""),
            Node($$"""{"id":"wsbad","type":"websocket-client","path":"{{url}}","tls":"bad","wholemsg":"false"}"""),
            Node("""{"id":"wsin","type":"websocket in","z":"t","server":"","client":"wsc","x":0,"y":0,"wires":[["got"]]}"""),
            Node("""{"id":"wsout","type":"websocket out","z":"t","server":"","client":"wsc","x":0,"y":0,"wires":[]}"""),
            Node("""{"id":"badin","type":"websocket in","z":"t","server":"","client":"wsbad","x":0,"y":0,"wires":[["got"]]}"""));
        Assert.Equal("hello wss", (await h.NextAsync("got")).Payload!.GetValue<string>());
        h.Send("wsout", JsonValue.Create("echo me"));
        Assert.Equal("echo me", (await h.NextAsync("got")).Payload!.GetValue<string>());
        var refused = await h.WaitForLogAsync(l => l.NodeId == "wsbad" && l.Level == "error");
        Assert.Contains("TLS connection to " + url, refused.Message, StringComparison.Ordinal);
        Assert.Contains("was not issued by the configured CA certificate", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tcp_out_serves_tls_and_tcp_in_connects_to_it_as_a_tls_client()
    {
        using var pki = TestPki.Create();
        var port = Loopback.FreePort();
        // The server is listed first: nodes start in order, so the client's first attempt finds it listening.
        await using var h = await LoadAsync(
            TlsConfig("srv", cert: pki.ServerCertPem, key: pki.ServerKeyPem),
            TlsConfig("cli", ca: pki.CaPem, servername: "localhost"),
            Node($$"""{"id":"out","type":"tcp out","z":"t","beserver":"server","port":"{{port}}","tls":"srv","x":0,"y":0,"wires":[]}"""),
            Node($$"""{"id":"in","type":"tcp in","z":"t","server":"client","host":"127.0.0.1","port":{{port}},"datamode":"stream","datatype":"utf8","newline":"\n","tls":"cli","x":0,"y":0,"wires":[["got"]]}"""));
        var server = (TcpOutNode)h.Engine.GetNode("out")!;
        await Flows.UntilAsync(() => server.ClientCount == 1, "tcp in to connect to tcp out over TLS");
        h.Send("out", JsonValue.Create("secret line\n"));
        Assert.Equal("secret line", Text(await h.NextAsync("got")));
    }
}
