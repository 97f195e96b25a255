using System.Text.Json.Nodes;
using FlowFleet.Fleet.Ble;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Fleet.Ble;

/// <summary>Calls any RPC method on a Shelly over Bluetooth LE (GATT).</summary>
[NodeType("ble rpc", Category = "fleet", Inputs = 1, Outputs = 1, Color = "#8fb2e0", Icon = "bluetooth", LabelProperty = "method",
    Help = """
    Calls `method` (or `msg.method`) with `params` (JSON; empty = `msg.params`) on the device named by `msg.payload.address`,
    `msg.payload` (a BLE address or id) or `msg.topic`, over BLE through the adapter that hears it best (or `adapter`).
    `msg.payload` = the result, `msg.station` = the adapter used. A device error or a BLE failure goes to catch nodes.
    """)]
public sealed class BleRpcNode(BleService ble) : FlowNode<BleRpcConfig>
{
    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(msg);
        var device = msg.Payload switch
        {
            JsonObject o => Text(o["address"] ?? o["id"]),
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => Text(msg.Data["topic"]),
        };
        var method = string.IsNullOrWhiteSpace(Config.Method) ? Text(msg.Data["method"]) : Config.Method.Trim();
        if (string.IsNullOrWhiteSpace(device) || device == "undefined" || string.IsNullOrWhiteSpace(method) || method == "undefined")
        {
            throw new InvalidOperationException("ble rpc: needs a device (msg.payload or msg.topic) and a method");
        }
        JsonNode? parameters;
        try
        {
            parameters = string.IsNullOrWhiteSpace(Config.Params) ? msg.Data["params"]?.DeepClone() : JsonNode.Parse(Config.Params);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new InvalidOperationException("ble rpc: params is not valid JSON: " + ex.Message, ex);
        }
        Node.Status(new NodeStatus("blue", "dot", method));
        try
        {
            var (result, via) = await ble.CallAsync(device, method, parameters, string.IsNullOrWhiteSpace(Config.Adapter) ? null : Config.Adapter, cancellationToken);
            msg.Payload = result;
            msg.Data["station"] = via;
            msg.Data["topic"] = device;
            Node.Status(new NodeStatus("green", "dot", $"{method} ok"));
            Node.Send(msg);
        }
        catch (Exception ex) when (ex is BleException or ShellyRpcException or ArgumentException)
        {
            Node.Status(new NodeStatus("red", "ring", ex.Message.Length > 40 ? ex.Message[..40] : ex.Message));
            throw new InvalidOperationException($"ble rpc {method} on {device}: {ex.Message}", ex);
        }
    }

    private static string? Text(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
}

public sealed class BleRpcConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"Shelly.GetDeviceInfo\"", Label = "Method")]
    public string? Method { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Json, Label = "Params", Help = "JSON; empty = msg.params")]
    public string? Params { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Adapter / station", Help = "empty = the one that hears the device best")]
    public string? Adapter { get; set; }
}
