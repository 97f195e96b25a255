using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Fleet;

/// <summary>Which devices a fleet node addresses: one device, a group, a tag, all, or whatever the message names.</summary>
public static class FleetTargets
{
    /// <summary>
    /// Device ids for a node's target. With <c>msg</c>: <c>msg.device</c> (id, array of ids, <c>group:NAME</c>) or else <c>msg.topic</c>.
    /// </summary>
    public static IReadOnlyList<string> Resolve(IDeviceStore devices, string? targetType, string? target, FlowMessage? msg)
    {
        ArgumentNullException.ThrowIfNull(devices);
        switch (targetType)
        {
            case "group":
                return devices.Resolve("group:" + target);
            case "tag":
                return devices.Resolve("tag:" + target);
            case "all":
                return devices.Resolve("*");
            case "msg":
                // msg.device from a shelly in node is the device info object: its id counts; otherwise msg.topic.
                var named = msg?.Data["device"] switch
                {
                    JsonArray a => a,
                    JsonObject o when o["id"] is JsonValue id => id,
                    JsonValue v => v,
                    _ => msg?.Data["topic"],
                };
                return named switch
                {
                    JsonArray a => a.Select(x => JsonTools.ToJsString(x)).Distinct(StringComparer.Ordinal).ToList(),
                    null => [],
                    _ => devices.Resolve(JsonTools.ToJsString(named)),
                };
            default:
                return string.IsNullOrWhiteSpace(target) ? [] : [target.Trim()];
        }
    }

    /// <summary>The device fields copied onto messages (<c>msg.device</c>).</summary>
    public static JsonObject DeviceInfo(DeviceState? d, string id) => d is null
        ? new JsonObject { ["id"] = id }
        : new JsonObject { ["id"] = id, ["name"] = d.Name, ["model"] = d.Model, ["app"] = d.App, ["gen"] = d.Gen, ["online"] = d.Online };
}
