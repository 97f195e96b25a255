using System.Text.Json.Nodes;
using FlowFleet.Fleet.Ble;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Fleet.Ble;

/// <summary>Puts Shelly devices on Wi-Fi over BLE with their websocket pointed at this fleet, and waits until they connect.</summary>
[NodeType("ble provision", Category = "fleet", Inputs = 1, Outputs = 1, Color = "#8fb2e0", Icon = "bluetooth_connected", LabelProperty = "name",
    Help = """
    Provisions the device in `msg.payload` (a BLE address or id, or a message from `ble discover`), or each device of an array:
    `WiFi.SetConfig` (SSID and password from the node — the password is stored encrypted with the credentials — or `msg.ssid`/
    `msg.password`), `Ws.SetConfig` (server = `server`, or this fleet's `/shelly`), `Shelly.Reboot`; then it waits until the
    device connects on `/shelly`. Sends `msg.payload` = `{device, ok, id, failedStep, error, station, durationMs}` per device.
    """)]
public sealed class BleProvisionNode(BleProvisioner provisioner) : FlowNode<BleProvisionConfig>
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(msg);
        var devices = msg.Payload is JsonArray arr ? arr.Select(DeviceOf).ToList() : [DeviceOf(msg.Payload) ?? Text(msg.Data["topic"])];
        if (devices.Any(string.IsNullOrWhiteSpace))
        {
            throw new InvalidOperationException("ble provision: msg.payload must name a device (BLE address or id)");
        }
        var ssid = Text(msg.Data["ssid"]) is { Length: > 0 } s ? s : Config.Ssid;
        if (string.IsNullOrWhiteSpace(ssid))
        {
            throw new InvalidOperationException("ble provision: no SSID (set one or send msg.ssid)");
        }
        var password = msg.Data["password"] is JsonValue pv && pv.TryGetValue<string>(out var p) ? p : Config.Credentials?.Password ?? Config.Password;
        var timeout = Config.Timeout is > 0 ? TimeSpan.FromSeconds(Config.Timeout.Value) : (TimeSpan?)null;
        var requests = devices.Select(d => new BleProvisionRequest(d!, ssid, password, string.IsNullOrWhiteSpace(Config.Server) ? null : Config.Server.Trim()) { ConnectTimeout = timeout }).ToList();
        Node.DeferDone();
        _ = Task.Run(async () =>
        {
            try
            {
                var done = 0;
                var progress = new Progress(this, requests.Count);
                var results = await provisioner.ProvisionManyAsync(requests, Config.Concurrency is > 0 ? Config.Concurrency.Value : 4, progress, Node.Closing);
                foreach (var r in results)
                {
                    var m = msg.Clone();
                    m.Data["topic"] = r.DeviceId ?? r.Device;
                    m.Payload = r.ToJson();
                    Node.Send(m);
                    done += r.Ok ? 1 : 0;
                }
                Node.Status(done == results.Count ? new NodeStatus("green", "dot", $"{done} provisioned") : new NodeStatus("red", "ring", $"{results.Count - done} of {results.Count} failed"));
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                Node.Done(msg);
            }
        }, CancellationToken.None);
        return ValueTask.CompletedTask;
    }

    private static string? DeviceOf(JsonNode? n) => n switch
    {
        JsonObject o => Text(o["address"] ?? o["id"]),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => null,
    };

    private sealed class Progress(BleProvisionNode node, int total) : IProgress<BleProvisionProgress>
    {
        public void Report(BleProvisionProgress value) =>
            node.Node.Status(new NodeStatus(value.State == "failed" ? "red" : "blue", "dot", total == 1 ? $"{value.Step}" : $"{value.Device}: {value.Step}"));
    }

    private static string? Text(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
}

public sealed class BleProvisionConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Wi-Fi SSID")]
    public string? Ssid { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Wi-Fi password", Secret = true)]
    public string? Password { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Server URL", Help = "ws://host:port/shelly; empty = this fleet")]
    public string? Server { get; set; }

    [NodeProperty(Default = "60", UiHint = PropertyUi.Number, Label = "Wait for /shelly (s)")]
    public double? Timeout { get; set; }

    [NodeProperty(Default = "4", UiHint = PropertyUi.Number, Label = "Devices at once")]
    public int? Concurrency { get; set; }

    /// <summary>Node-RED's credentials: kept out of flows.json and stored encrypted.</summary>
    public BleCredentials? Credentials { get; set; }
}

public sealed class BleCredentials
{
    public string? Password { get; set; }
}
