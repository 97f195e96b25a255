using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using FlowFleet.Fleet.Rpc;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Fleet;

/// <summary>Applies configuration to devices from a JSON template or copied from a source device, component by component.</summary>
[NodeType("apply config", Category = "fleet", Inputs = 1, Outputs = 1, Color = "#7fb7df", Icon = "settings",
    Help = """
    Brings target devices to a configuration. `source` = `template` (JSON: `{"switch:0":{"auto_off":true,"auto_off_delay":60}}`,
    or `msg.payload` when empty) or `device` (copy from `sourceDevice`). `components` (comma-separated, empty = all but the
    device-specific sys/wifi/ws/cloud/mqtt/ble) limits what is applied. Component ids are kept; only differing keys are sent.
    `dryRun` lists the calls without making them. `msg.payload` = `[{id, component, method, params, ok, error}]`.
    """)]
public sealed class ApplyConfigNode(DeviceHub hub, IDeviceStore devices) : FlowNode<ApplyConfigConfig>
{
    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var components = (Config.Components ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        JsonObject template;
        if (Config.Source == "device")
        {
            var source = devices.Get(Config.SourceDevice ?? "") ?? throw new InvalidOperationException($"apply config: source device '{Config.SourceDevice}' is unknown");
            template = ConfigApplier.TemplateFromDevice(source, components);
        }
        else if (!string.IsNullOrWhiteSpace(Config.Template))
        {
            template = JsonNode.Parse(Config.Template) as JsonObject ?? throw new InvalidOperationException("apply config: the template must be a JSON object");
        }
        else
        {
            template = msg.Payload as JsonObject ?? throw new InvalidOperationException("apply config: no template (set one or send an object in msg.payload)");
        }
        var targets = FleetTargets.Resolve(devices, Config.TargetType, Config.Target, msg).Where(t => t != Config.SourceDevice).ToList();
        var plan = ConfigApplier.Plan(devices, targets, template, components);
        var rows = new JsonArray();
        if (Config.DryRun)
        {
            foreach (var c in plan)
            {
                rows.Add(Row(c));
            }
            Node.Status(new NodeStatus("blue", "ring", $"dry run: {plan.Count} calls"));
        }
        else
        {
            var results = await ConfigApplier.ApplyAsync(hub, plan, "flow:" + Node.Id, ct: cancellationToken);
            foreach (var (call, r) in results)
            {
                var row = Row(call);
                row["ok"] = r.Ok;
                row["result"] = r.Result?.DeepClone();
                row["error"] = r.Error;
                rows.Add(row);
            }
            var failed = results.Count(x => !x.Result.Ok);
            Node.Status(failed == 0 ? new NodeStatus("green", "dot", $"{results.Count} calls ok") : new NodeStatus("red", "ring", $"{failed}/{results.Count} failed"));
        }
        msg.Payload = rows;
        Node.Send(msg);
    }

    private static JsonObject Row(PlannedConfigCall c) => new()
    {
        ["id"] = c.DeviceId, ["component"] = c.Component, ["method"] = c.Method, ["params"] = c.Params.DeepClone(),
        ["changes"] = new JsonArray(c.ChangedKeys.Select(k => (JsonNode?)k).ToArray()),
    };
}

public sealed class ApplyConfigConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"msg\"", UiHint = PropertyUi.Select, Options = ["device:Device", "group:Group", "tag:Tag", "all:All devices", "msg:From msg.topic / msg.device"], Label = "Targets")]
    public string? TargetType { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Device id / group / tag")]
    public string? Target { get; set; }

    [NodeProperty(Default = "\"template\"", UiHint = PropertyUi.Select, Options = ["template:JSON template", "device:Copy from a device"], Label = "Source")]
    public string? Source { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Json, Label = "Template")]
    public string? Template { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Source device")]
    public string? SourceDevice { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Components", Help = "switch:0, input:0 ... (empty = all but device-specific ones)")]
    public string? Components { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Dry run")]
    public bool DryRun { get; set; }
}
