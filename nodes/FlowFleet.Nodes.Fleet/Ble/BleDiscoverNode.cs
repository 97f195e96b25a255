using System.Text.Json.Nodes;
using FlowFleet.Fleet.Ble;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Fleet.Ble;

/// <summary>Finds Shelly devices over Bluetooth LE (local adapters and BLE stations).</summary>
[NodeType("ble discover", Category = "fleet", Inputs = 1, Outputs = 1, Color = "#8fb2e0", Icon = "bluetooth_searching", LabelProperty = "name",
    Help = """
    Scans for Shelly devices over Bluetooth LE on every adapter and BLE station. Scanning starts on deploy (`scan on deploy`)
    or when a message arrives with `msg.payload` = `start`; `stop` stops it, `list` sends one message with every device in range.
    Each Shelly found sends a message: `msg.topic` = its id, `msg.payload` = `{id, address, mac, model, rssi, flags, rpc, auth,
    provisioned, online, station}` (`station` = the adapter that hears it best). `unprovisioned only` skips devices already in this fleet.
    """)]
public sealed class BleDiscoverNode(BleService ble) : FlowNode<BleDiscoverConfig>
{
    private long _found;
    private IDisposable? _watch;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // On deploy with a scan, the devices already in range are sent too; BleService sends each of them once.
        _watch = ble.WatchFound(OnFound, inRange: Config.ScanOnDeploy == true);
        if (Config.ScanOnDeploy == true)
        {
            await ble.StartScanAsync(cancellationToken);
        }
        UpdateStatus();
    }

    private void OnFound(BleDevice device)
    {
        if (Config.UnprovisionedOnly == true && device.Provisioned)
        {
            return;
        }
        Interlocked.Increment(ref _found);
        var msg = FlowMessage.Create(device.ToJson(), device.FleetDeviceId ?? device.Info.DeviceId ?? device.Address);
        Node.Send(msg);
        UpdateStatus();
    }

    private void UpdateStatus() =>
        Node.Status(ble.Scanning ? new NodeStatus("blue", "dot", $"scanning, {Interlocked.Read(ref _found)} found") : new NodeStatus("grey", "ring", "not scanning"));

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(msg);
        var command = JsonTools.ToJsString(msg.Payload)?.Trim().ToLowerInvariant();
        switch (command)
        {
            case "stop":
                await ble.StopScanAsync(cancellationToken);
                break;
            case "list":
                var list = ble.InRange().Where(d => Config.UnprovisionedOnly != true || !d.Provisioned).Select(d => (JsonNode?)d.ToJson()).ToArray();
                msg.Payload = new JsonArray(list);
                Node.Send(msg);
                break;
            default:
                await ble.StartScanAsync(cancellationToken);
                break;
        }
        UpdateStatus();
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _watch?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class BleDiscoverConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "Scan on deploy")]
    public bool? ScanOnDeploy { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Unprovisioned only")]
    public bool? UnprovisionedOnly { get; set; }
}
