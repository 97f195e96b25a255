using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Network;

/// <summary>
/// tls-config's own behaviour: bad input (missing file, bad PEM, a certificate without its key, an encrypted key without
/// its passphrase) is reported by the node, the nodes using it refuse TLS with that reason, and the flow keeps running.
/// </summary>
public sealed class TlsConfigNodeTests
{
    private static JsonNode Node(string json) => JsonNode.Parse(json)!;

    private static async Task<string> ConfigErrorAsync(FlowHarness h, string id) =>
        (await h.WaitForLogAsync(l => l.NodeId == id && l.Level == "error")).Message;

    [Fact]
    public async Task Bad_certificates_are_reported_by_the_node_and_the_flow_keeps_running()
    {
        using var pki = TestPki.Create();
        var missing = Path.Combine(Path.GetTempPath(), "ff-no-such-dir-" + Guid.NewGuid().ToString("N"), "client.pem");
        await using var h = await TlsNodeTests.LoadAsync(
            TlsNodeTests.TlsConfig("nofile", files: new JsonObject { ["cert"] = missing, ["key"] = missing }),
            TlsNodeTests.TlsConfig("badpem", cert: "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n", key: pki.ClientKeyPem),
            TlsNodeTests.TlsConfig("nokey", cert: pki.ClientCertPem),
            TlsNodeTests.TlsConfig("wrongkey", cert: pki.ClientCertPem, key: pki.ServerKeyPem),
            TlsNodeTests.TlsConfig("locked", cert: pki.ClientCertPem, key: pki.EncryptedClientKeyPem("pw")),
            TlsNodeTests.TlsConfig("garbageca", ca: "this is no certificate"),
            Node("""{"id":"req","type":"tcp request","z":"t","server":"127.0.0.1","port":"1","out":"immed","tls":"badpem","x":0,"y":0,"wires":[["got"]]}"""),
            Node("""{"id":"http","type":"http request","z":"t","method":"GET","url":"https://127.0.0.1:1/","tls":"nofile","x":0,"y":0,"wires":[["got"]]}"""),
            Node("""{"id":"srv","type":"tcp in","z":"t","server":"server","port":0,"tls":"garbageca","x":0,"y":0,"wires":[["got"]]}"""),
            Node("""{"id":"pass","type":"change","z":"t","rules":[{"t":"set","p":"payload","pt":"msg","to":"still running","tot":"str"}],"x":0,"y":0,"wires":[["got"]]}"""));

        Assert.Contains($"cannot read the certificate file '{missing}'", await ConfigErrorAsync(h, "nofile"), StringComparison.Ordinal);
        Assert.Contains("the certificate is not valid PEM", await ConfigErrorAsync(h, "badpem"), StringComparison.Ordinal);
        Assert.Contains("a certificate and its private key must be given together", await ConfigErrorAsync(h, "nokey"), StringComparison.Ordinal);
        Assert.Contains("the certificate and private key cannot be used together", await ConfigErrorAsync(h, "wrongkey"), StringComparison.Ordinal);
        Assert.Contains("the private key is encrypted: set its passphrase", await ConfigErrorAsync(h, "locked"), StringComparison.Ordinal);
        Assert.Contains("the CA certificate holds no PEM certificate", await ConfigErrorAsync(h, "garbageca"), StringComparison.Ordinal);

        // The users refuse to go on without their certificates, with the reason, where a catch node sees it.
        h.Send("req", JsonValue.Create("x"));
        var reqError = (await h.NextAsync("err")).Data["error"]!;
        Assert.Equal("req", reqError["source"]!["id"]!.GetValue<string>());
        Assert.Contains("TLS configuration 'badpem' is not usable: the certificate is not valid PEM", reqError["message"]!.GetValue<string>(), StringComparison.Ordinal);
        h.Send("http", JsonValue.Create("x"));
        var httpError = (await h.NextAsync("err")).Data["error"]!;
        Assert.Contains("TLS configuration 'nofile' is not usable: cannot read the certificate file", httpError["message"]!.GetValue<string>(), StringComparison.Ordinal);
        // A TLS server without a usable certificate does not start listening.
        Assert.Contains(h.Engine.Warnings, w => w.Contains("srv", StringComparison.Ordinal) && w.Contains("not usable", StringComparison.Ordinal));

        h.Send("pass", JsonValue.Create("x"));
        Assert.Equal("still running", (await h.NextAsync("got")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Tls_server_needs_a_certificate_and_key()
    {
        using var pki = TestPki.Create();
        await using var h = await TlsNodeTests.LoadAsync(
            TlsNodeTests.TlsConfig("caonly", ca: pki.CaPem),
            Node("""{"id":"srv","type":"tcp out","z":"t","beserver":"server","port":0,"tls":"caonly","x":0,"y":0,"wires":[]}"""));
        Assert.Contains(h.Engine.Warnings, w => w.Contains("has no certificate and private key, which a TLS server needs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_tls_config_node_is_named_in_the_error()
    {
        await using var h = await TlsNodeTests.LoadAsync(
            Node("""{"id":"req","type":"tcp request","z":"t","server":"127.0.0.1","port":"1","out":"immed","tls":"gone","x":0,"y":0,"wires":[["got"]]}"""));
        h.Send("req", JsonValue.Create("x"));
        Assert.Contains("TLS configuration 'gone' (tls-config) was not found", (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
