using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using FlowFleet.Fleet.Rpc;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Fleet;

/// <summary>Commands devices: switch on/off/toggle, cover open/close/stop/position, light on/off/toggle/brightness.</summary>
[NodeType("shelly out", Category = "fleet", Inputs = 1, Outputs = 1, Color = "#7fb7df", Icon = "wifi", Align = "right", LabelProperty = "action",
    Help = """
    Sends a command to a device, a group, a tag or all devices (`msg` = `msg.device` or `msg.topic`). `action`:
    `switch` follows `msg.payload` (true/false/"on"/"off"/"toggle"), or fixed `on`, `off`, `toggle`; `cover-open`, `cover-close`,
    `cover-stop`, `cover-position` (`msg.payload` 0-100); `light` (payload on/off/toggle), `brightness` (`msg.payload` 0-100).
    `channel` is the component id. Sends on `msg.payload` the per-device results `[{id, ok, result|error, durationMs}]`.
    """)]
public sealed class ShellyOutNode(DeviceHub hub, IDeviceStore devices) : FlowNode<ShellyOutConfig>
{
    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var ids = FleetTargets.Resolve(devices, Config.TargetType, Config.Target, msg);
        if (ids.Count == 0)
        {
            throw new InvalidOperationException("shelly out: no target device (set a device, group or tag, or msg.topic)");
        }
        var (method, parameters) = Command(Config.Action ?? "switch", Config.Channel ?? 0, msg.Payload);
        var server = FleetServerLookup.Of(Node, Config.Server);
        var results = await FleetRpc.CallManyAsync(hub, ids, method, parameters, server?.Timeout, "flow:" + Node.Id, server?.Concurrency ?? 64, ct: cancellationToken);
        var failed = results.Count(r => !r.Ok);
        Node.Status(failed == 0 ? new NodeStatus("green", "dot", $"{method} → {results.Count} ok") : new NodeStatus("red", "ring", $"{method}: {failed}/{results.Count} failed"));
        msg.Payload = new JsonArray(results.Select(r => (JsonNode?)r.ToJson()).ToArray());
        Node.Send(msg);
        if (failed > 0 && results.Count == 1)
        {
            Node.Error($"{method} on {results[0].DeviceId} failed: {results[0].Error}", msg);
        }
    }

    /// <summary>The RPC for an action and payload.</summary>
    internal static (string Method, JsonObject Params) Command(string action, int channel, JsonNode? payload)
    {
        JsonObject P(JsonObject o)
        {
            o["id"] = channel;
            return o;
        }
        switch (action)
        {
            case "on":
                return ("Switch.Set", P(new JsonObject { ["on"] = true }));
            case "off":
                return ("Switch.Set", P(new JsonObject { ["on"] = false }));
            case "toggle":
                return ("Switch.Toggle", P([]));
            case "switch":
                return OnOff(payload) is { } on ? ("Switch.Set", P(new JsonObject { ["on"] = on })) : ("Switch.Toggle", P([]));
            case "cover-open":
                return ("Cover.Open", P([]));
            case "cover-close":
                return ("Cover.Close", P([]));
            case "cover-stop":
                return ("Cover.Stop", P([]));
            case "cover-position":
                return ("Cover.GoToPosition", P(new JsonObject { ["pos"] = Percent(payload) }));
            case "light":
                return OnOff(payload) is { } lon ? ("Light.Set", P(new JsonObject { ["on"] = lon })) : ("Light.Toggle", P([]));
            case "brightness":
                return ("Light.Set", P(new JsonObject { ["on"] = true, ["brightness"] = Percent(payload) }));
            default:
                throw new InvalidOperationException($"shelly out: unknown action '{action}'");
        }
    }

    private static bool? OnOff(JsonNode? payload)
    {
        var text = JsonTools.ToJsString(payload).Trim().ToLowerInvariant();
        return text switch
        {
            "true" or "on" or "1" or "open" => true,
            "false" or "off" or "0" or "close" or "closed" => false,
            "toggle" => null,
            _ => throw new InvalidOperationException($"shelly out: msg.payload must be true/false/on/off/toggle, not '{text}'"),
        };
    }

    private static int Percent(JsonNode? payload)
    {
        var n = JsonTools.ToNumber(payload);
        return double.IsNaN(n) || n < 0 || n > 100 ? throw new InvalidOperationException("shelly out: msg.payload must be a number 0-100") : (int)Math.Round(n);
    }
}

public sealed class ShellyOutConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Config, ConfigType = "fleet server", Label = "Fleet")]
    public string? Server { get; set; }

    [NodeProperty(Default = "\"msg\"", UiHint = PropertyUi.Select, Options = ["device:Device", "group:Group", "tag:Tag", "all:All devices", "msg:From msg.topic / msg.device"], Label = "Devices")]
    public string? TargetType { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Device id / group / tag")]
    public string? Target { get; set; }

    [NodeProperty(Default = "\"switch\"", UiHint = PropertyUi.Select, Label = "Action",
        Options = ["switch:Switch (msg.payload)", "on:Switch on", "off:Switch off", "toggle:Switch toggle", "cover-open:Cover open", "cover-close:Cover close",
            "cover-stop:Cover stop", "cover-position:Cover position (msg.payload)", "light:Light (msg.payload)", "brightness:Light brightness (msg.payload)"])]
    public string? Action { get; set; }

    [NodeProperty(Default = "0", UiHint = PropertyUi.Number, Label = "Channel")]
    public int? Channel { get; set; }
}
