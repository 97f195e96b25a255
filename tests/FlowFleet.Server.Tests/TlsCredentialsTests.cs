using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests;

/// <summary>
/// tls-config's certificate data through the admin API: deployed as credentials, used by a running tcp request to a server
/// that requires the client certificate, never in plain in what is exported (GET /red/flows, flows.json which the CLI
/// exports) or in the encrypted credentials file; importing the export back keeps the node working.
/// </summary>
public sealed class TlsCredentialsTests
{
    [Fact]
    public async Task Tls_certificates_survive_an_export_import_round_trip_without_leaking_in_plain()
    {
        using var pki = TestPki.Create();
        var received = System.Threading.Channels.Channel.CreateUnbounded<string>();
        await using var server = new TlsTestServer(pki, requireClientCertificate: true, async (ssl, ct) =>
        {
            var buffer = new byte[64];
            var n = await ssl.ReadAsync(buffer, ct);
            received.Writer.TryWrite(ssl.RemoteCertificate?.Subject + " " + Encoding.UTF8.GetString(buffer, 0, n));
        });
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        var key = pki.EncryptedClientKeyPem("pass-phrase-9");
        var flows = new JsonArray(
            new JsonObject { ["id"] = "t", ["type"] = "tab" },
            new JsonObject
            {
                ["id"] = "tc", ["type"] = "tls-config", ["name"] = "client cert", ["verifyservercert"] = true,
                ["credentials"] = new JsonObject { ["certdata"] = pki.ClientCertPem, ["keydata"] = key, ["passphrase"] = "pass-phrase-9", ["cadata"] = pki.CaPem },
            },
            JsonNode.Parse("""{"id":"inj","type":"inject","z":"t","props":[{"p":"payload"}],"payload":"ping","payloadType":"str","x":100,"y":100,"wires":[["req"]]}"""),
            JsonNode.Parse($$"""{"id":"req","type":"tcp request","z":"t","server":"localhost","port":"{{server.Port}}","out":"immed","tls":"tc","x":300,"y":100,"wires":[[]]}"""));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(flows.ToJsonString()))).StatusCode);

        async Task InjectAndExpectTheClientCertificateAsync()
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/red/inject/inj", null)).StatusCode);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            Assert.Equal("CN=flowfleet-test-client ping", await received.Reader.ReadAsync(cts.Token));
        }
        await InjectAndExpectTheClientCertificateAsync();

        // Nothing of the certificate data, the key or its passphrase in what leaves the server or lands in plain files.
        var exported = await admin.GetStringAsync("/red/flows");
        var secrets = new[] { pki.ClientCertPem.Split('\n')[1], key.Split('\n')[1], pki.CaPem.Split('\n')[1], "pass-phrase-9", "BEGIN" };
        foreach (var text in new[] { exported, await File.ReadAllTextAsync(Path.Combine(s.DataDir, "flows.json")), await File.ReadAllTextAsync(Path.Combine(s.DataDir, "flows_cred.json")) })
        {
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }
        }
        var exportedTls = JsonNode.Parse(exported)!.AsArray().OfType<JsonObject>().Single(o => o["id"]?.GetValue<string>() == "tc");
        Assert.Null(exportedTls["credentials"]);
        Assert.Equal("client cert", exportedTls["name"]?.GetValue<string>());

        // Importing the export back (no credentials in it) keeps the stored ones for the same node id: still authenticated.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(exported))).StatusCode);
        await InjectAndExpectTheClientCertificateAsync();

        // A form that sends only the field the user changed (here the passphrase, again) keeps the other three.
        exportedTls["credentials"] = new JsonObject { ["passphrase"] = "pass-phrase-9" };
        var edited = JsonNode.Parse(exported)!.AsArray();
        edited[edited.Select((n, i) => (n, i)).Single(p => p.n?["id"]?.GetValue<string>() == "tc").i] = exportedTls.DeepClone();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(edited.ToJsonString()))).StatusCode);
        await InjectAndExpectTheClientCertificateAsync();
    }
}
