using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Network.Mqtt;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Nodes.Core.Tests.Network.Mqtt;

/// <summary>
/// mqtt-broker with <c>usetls</c> and a tls-config against a real Mosquitto TLS listener that requires a client certificate
/// issued by the test CA (<c>require_certificate true</c>).
/// </summary>
public sealed class MqttTlsTests
{
    private static async Task<MosquittoBroker> StartMosquittoAsync(TestPki pki)
    {
        var broker = new MosquittoBroker("cafile {dir}/ca.pem\ncertfile {dir}/server.pem\nkeyfile {dir}/server.key\nrequire_certificate true");
        // Mosquitto started as root drops to its own user before it reads the files: they must be readable by others.
        foreach (var (name, pem) in new[] { ("ca.pem", pki.CaPem), ("server.pem", pki.ServerCertPem), ("server.key", pki.ServerKeyPem) })
        {
            var path = Path.Combine(broker.Directory, name);
            await File.WriteAllTextAsync(path, pem);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
            }
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(broker.Directory, (UnixFileMode)0b111_101_101);
        }
        await broker.StartAsync();
        return broker;
    }

    /// <summary>mqtt out → broker → mqtt in → helper "got", through a broker node using tls-config "tc".</summary>
    private static Task<FlowHarness> LoadAsync(int port, JsonObject credentials, string servername = "")
    {
        var flows = new JsonArray(
            new JsonObject { ["id"] = "t", ["type"] = "tab" },
            new JsonObject
            {
                ["id"] = "tc", ["type"] = "tls-config", ["name"] = "test pki", ["verifyservercert"] = true, ["servername"] = servername, ["credentials"] = credentials,
            },
            JsonNode.Parse($$"""{"id":"b","type":"mqtt-broker","broker":"localhost","port":"{{port}}","usetls":true,"tls":"tc","protocolVersion":"4","keepalive":"60","cleansession":true}"""),
            JsonNode.Parse("""{"id":"in","type":"mqtt in","z":"t","broker":"b","topic":"ff/tls/#","qos":"1","datatype":"utf8","x":0,"y":0,"wires":[["got"]]}"""),
            JsonNode.Parse("""{"id":"out","type":"mqtt out","z":"t","broker":"b","topic":"ff/tls/x","qos":"1","retain":"true","x":0,"y":0,"wires":[]}"""),
            JsonNode.Parse("""{"id":"got","type":"helper","z":"t","x":0,"y":0,"wires":[]}"""));
        return FlowHarness.LoadAsync(flows.ToJsonString(), services: s => s.Configure<CoreNodesOptions>(o => o.Mqtt.ReconnectTime = 100));
    }

    [Fact]
    public async Task Broker_with_tls_config_connects_with_its_client_certificate_and_custom_ca()
    {
        using var pki = TestPki.Create();
        await using var mosquitto = await StartMosquittoAsync(pki);
        // The key encrypted with a passphrase: the credentials carry both, as Node-RED's form stores them.
        await using var h = await LoadAsync(mosquitto.Port, new JsonObject
        {
            ["certdata"] = pki.ClientCertPem, ["keydata"] = pki.EncryptedClientKeyPem("s3cret"), ["passphrase"] = "s3cret", ["cadata"] = pki.CaPem,
        });
        var broker = (MqttBrokerNode)h.Engine.GetNode("b")!;
        await Flows.UntilAsync(() => broker.Connected, "the broker node to connect over TLS");
        Assert.Contains(h.Logs, l => l.NodeId == "b" && l.Message.Contains("Connected to broker: mqtts://localhost:", StringComparison.Ordinal));
        // Published retained through the TLS connection, it comes back to the subscription whether that is made yet or not.
        h.Send("out", JsonValue.Create("over tls"));
        Assert.Equal("over tls", (await h.NextAsync("got")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Broker_without_a_client_certificate_is_refused_and_says_so()
    {
        using var pki = TestPki.Create();
        await using var mosquitto = await StartMosquittoAsync(pki);
        await using var h = await LoadAsync(mosquitto.Port, new JsonObject { ["cadata"] = pki.CaPem });
        var failed = await h.WaitForLogAsync(l => l.NodeId == "b" && l.Message.Contains("failed to broker", StringComparison.Ordinal));
        Assert.Equal("error", failed.Level);
        Assert.StartsWith("TLS connection failed to broker: mqtts://localhost:" + mosquitto.Port, failed.Message, StringComparison.Ordinal);
        Assert.Contains("it most likely requires a client certificate, and the TLS configuration has none", failed.Message, StringComparison.Ordinal);
        Assert.False(((MqttBrokerNode)h.Engine.GetNode("b")!).Connected);
    }

    [Fact]
    public async Task Broker_refuses_a_server_the_configured_ca_did_not_issue()
    {
        using var pki = TestPki.Create();
        using var other = TestPki.Create("Some Other CA");
        await using var mosquitto = await StartMosquittoAsync(pki);
        await using var h = await LoadAsync(mosquitto.Port, new JsonObject
        {
            ["certdata"] = pki.ClientCertPem, ["keydata"] = pki.ClientKeyPem, ["cadata"] = other.CaPem,
        });
        var failed = await h.WaitForLogAsync(l => l.NodeId == "b" && l.Message.Contains("failed to broker", StringComparison.Ordinal));
        Assert.Equal("error", failed.Level);
        Assert.StartsWith("TLS connection failed to broker", failed.Message, StringComparison.Ordinal);
        Assert.Contains("was not issued by the configured CA certificate", failed.Message, StringComparison.Ordinal);
        Assert.False(((MqttBrokerNode)h.Engine.GetNode("b")!).Connected);
    }

    [Fact]
    public async Task Servername_is_checked_against_the_broker_certificate()
    {
        using var pki = TestPki.Create();
        await using var mosquitto = await StartMosquittoAsync(pki);
        await using var h = await LoadAsync(mosquitto.Port, new JsonObject
        {
            ["certdata"] = pki.ClientCertPem, ["keydata"] = pki.ClientKeyPem, ["cadata"] = pki.CaPem,
        }, servername: "not-the-broker.example");
        var failed = await h.WaitForLogAsync(l => l.NodeId == "b" && l.Message.Contains("failed to broker", StringComparison.Ordinal));
        Assert.Equal("error", failed.Level);
        Assert.Contains("is not valid for the server name 'not-the-broker.example'", failed.Message, StringComparison.Ordinal);
        Assert.False(((MqttBrokerNode)h.Engine.GetNode("b")!).Connected);
    }
}
