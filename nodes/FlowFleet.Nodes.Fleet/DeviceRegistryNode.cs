using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Fleet;

/// <summary>Reads and changes the device registry from a flow: list, get, tags, groups, desired state.</summary>
[NodeType("device registry", Category = "fleet", Inputs = 1, Outputs = 1, Color = "#7fb7df", Icon = "list", LabelProperty = "action",
    Help = """
    `action` (or `msg.action`): `list` (`msg.payload` = devices; filter with `msg.filter` = `{search, group, tag, online}`),
    `get` (device `msg.topic`), `tag` / `untag` (`msg.payload` = tag), `group-add` / `group-remove` (`msg.payload` = group name,
    created if missing), `set-desired` (`msg.payload` = desired state, applied at once when online), `get-desired`,
    `upsert` (a device that is not a Shelly, e.g. spoken to by a websocket flow: device `msg.topic`, `msg.payload` =
    `{name, model, app, fw, ip, transport, online, status}`; created and admitted the first time, `status` deep-merged).
    """)]
public sealed class DeviceRegistryNode(DeviceHub hub, IDeviceStore devices, IGroupStore groups) : FlowNode<DeviceRegistryConfig>
{
    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var action = string.IsNullOrEmpty(Config.Action) || Config.Action == "msg" ? JsonTools.ToJsString(msg.Data["action"]) : Config.Action;
        string Device() => string.IsNullOrWhiteSpace(Config.Device) ? JsonTools.ToJsString(msg.Data["topic"]) : Config.Device;
        DeviceState Existing() => devices.Get(Device()) ?? throw new InvalidOperationException($"device registry: unknown device '{Device()}'");
        string Arg() => JsonTools.ToJsString(msg.Payload).Trim() is { Length: > 0 } s ? s : throw new InvalidOperationException($"device registry: {action} needs msg.payload");
        switch (action)
        {
            case "list":
                var f = msg.Data["filter"] as JsonObject;
                var (items, total) = devices.Query(new DeviceQuery
                {
                    Search = f?["search"]?.ToString(), Group = f?["group"]?.ToString(), Tag = f?["tag"]?.ToString(),
                    Online = f?["online"] is JsonValue o && o.TryGetValue<bool>(out var b) ? b : null, Limit = 10_000,
                });
                msg.Payload = new JsonArray(items.Select(d => (JsonNode?)d.Summary(groups.GroupsOf(d.Id))).ToArray());
                msg.Data["total"] = total;
                break;
            case "get":
                var d = Existing();
                msg.Payload = d.Details(groups.GroupsOf(d.Id));
                break;
            case "tag" or "untag":
                var dt = Existing();
                var tag = Arg();
                await devices.SetTagsAsync(dt.Id, action == "tag" ? dt.Tags.Append(tag) : dt.Tags.Where(t => !t.Equals(tag, StringComparison.OrdinalIgnoreCase)), cancellationToken);
                msg.Payload = new JsonArray(devices.Get(dt.Id)!.Tags.Select(t => (JsonNode?)t).ToArray());
                break;
            case "group-add" or "group-remove":
                var dg = Existing();
                var group = Arg();
                if (action == "group-add" && !groups.GroupNames.Contains(group, StringComparer.OrdinalIgnoreCase))
                {
                    await groups.CreateGroupAsync(group, null, cancellationToken);
                }
                await groups.SetMembershipAsync(group, dg.Id, action == "group-add", cancellationToken);
                msg.Payload = new JsonArray(groups.GroupsOf(dg.Id).Select(g => (JsonNode?)g).ToArray());
                break;
            case "set-desired":
                var dd = Existing();
                await devices.SetDesiredAsync(dd.Id, msg.Payload as JsonObject ?? throw new InvalidOperationException("device registry: set-desired needs an object in msg.payload"), cancellationToken);
                var applied = await hub.ApplyDesiredAsync(dd.Id, cancellationToken);
                msg.Data["applied"] = new JsonArray(applied.Select(a => (JsonNode?)a).ToArray());
                break;
            case "upsert":
                var fields = msg.Payload as JsonObject ?? throw new InvalidOperationException("device registry: upsert needs an object in msg.payload ({name, model, status, …})");
                var du = devices.UpsertExternal(Device(), fields);
                msg.Payload = du.Summary(groups.GroupsOf(du.Id));
                break;
            case "get-desired":
                var dx = Existing();
                lock (dx.Gate)
                {
                    msg.Payload = new JsonObject { ["desired"] = dx.Desired?.DeepClone(), ["reported"] = dx.Status };
                }
                break;
            default:
                throw new InvalidOperationException($"device registry: unknown action '{action}'");
        }
        Node.Send(msg);
    }
}

public sealed class DeviceRegistryConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"list\"", UiHint = PropertyUi.Select, Label = "Action",
        Options = ["list:List devices", "get:Get a device", "tag:Add tag", "untag:Remove tag", "group-add:Add to group", "group-remove:Remove from group",
            "set-desired:Set desired state", "get-desired:Get desired state", "upsert:Add/update a non-Shelly device", "msg:From msg.action"])]
    public string? Action { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Device", Help = "empty = msg.topic")]
    public string? Device { get; set; }
}
