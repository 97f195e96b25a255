using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using FlowFleet.Fleet.Rpc;
using FlowFleet.Server.Auth;
using FlowFleet.Server.Fleet.FleetManager;

namespace FlowFleet.Server.Fleet;

/// <summary>FlowFleet's own /client methods (Device.*, Group.*, Events.Subscribe) answered for one connection.</summary>
public sealed partial class ClientHub
{
    private async Task<JsonNode?> CallAsync(ClientConnection client, string method, JsonObject p, CancellationToken ct)
    {
        string Str(string name) => p[name]?.GetValue<string>() ?? throw new ArgumentException($"params.{name} is required");
        // FM's scripts name a device with shellyID; FlowFleet's own calls with id.
        string DeviceId() => p["id"] is JsonValue ? Str("id") : p["shellyID"] is JsonValue ? Str("shellyID") : throw new ArgumentException("params.id (or shellyID) is required");
        switch (method.ToLowerInvariant())
        {
            case "device.list":
                client.Require(Policies.DevicesRead);
                var (items, total) = devices.Query(new DeviceQuery
                {
                    Search = p["search"]?.GetValue<string>(), Group = p["group"]?.GetValue<string>(), Tag = p["tag"]?.GetValue<string>(),
                    Online = p["online"]?.GetValue<bool>(), Admission = p["admission"]?.GetValue<string>(), Sort = p["sort"]?.GetValue<string>() ?? "name",
                    Offset = p["offset"]?.GetValue<int>() ?? 0, Limit = p["limit"]?.GetValue<int>() ?? 1000,
                    Within = DeviceAccess.For(client.User).Devices(groups),
                });
                return new JsonObject { ["items"] = new JsonArray(items.Select(d => (JsonNode?)d.Summary(groups.GroupsOf(d.Id))).ToArray()), ["total"] = total };
            case "device.get":
                client.Require(Policies.DevicesRead);
                var d = devices.Get(Visible(client, DeviceId())) ?? throw new KeyNotFoundException($"Device {DeviceId()} not found");
                return d.Details(groups.GroupsOf(d.Id));
            case "device.call":
                client.Require(Policies.DevicesControl);
                var targets = p["ids"] is JsonArray arr ? arr.Select(x => x!.GetValue<string>()).ToList() : p["target"] is { } t ? devices.Resolve(t.GetValue<string>()).ToList() : [Visible(client, DeviceId())];
                targets = [.. DeviceAccess.For(client.User).Filter(groups, targets)];
                var timeout = p["timeout"] is JsonValue tv ? TimeSpan.FromSeconds(tv.GetValue<double>()) : (TimeSpan?)null;
                if (targets.Count == 1 && (p["id"] ?? p["shellyID"]) is not null)
                {
                    return await hub.CallAsync(targets[0], Str("method"), p["params"], timeout, client.User.Identity?.Name, ct);
                }
                var results = await FleetRpc.CallManyAsync(hub, targets, Str("method"), p["params"], timeout, client.User.Identity?.Name, ct: ct);
                return new JsonObject { ["results"] = new JsonArray(results.Select(r => (JsonNode?)r.ToJson()).ToArray()) };
            case "device.accept":
                client.Require(Policies.DevicesControl);
                await hub.AcceptAsync(Visible(client, Str("id")), ct);
                return new JsonObject { ["ok"] = true };
            case "device.deny":
                client.Require(Policies.DevicesControl);
                await hub.DenyAsync(Visible(client, Str("id")), ct);
                return new JsonObject { ["ok"] = true };
            case "group.list":
                client.Require(Policies.DevicesRead);
                return new JsonArray(DeviceAccess.For(client.User).GroupNames(groups).Select(g => (JsonNode?)new JsonObject { ["name"] = g, ["devices"] = new JsonArray(groups.Members(g).Select(m => (JsonNode?)m).ToArray()) }).ToArray());
            case "group.create":
                client.Require(Policies.DevicesControl);
                NeedsAllDevices(client);
                await groups.CreateGroupAsync(Str("name"), p["description"]?.GetValue<string>(), ct);
                return new JsonObject { ["name"] = Str("name") };
            case "group.delete":
                client.Require(Policies.DevicesControl);
                NeedsAllDevices(client);
                await groups.DeleteGroupAsync(Str("name"), ct);
                return new JsonObject { ["ok"] = true };
            case "group.add" or "group.remove":
                client.Require(Policies.DevicesControl);
                NeedsAllDevices(client);
                if (groups.Exists(Str("name")) && devices.Get(Str("id")) is null)
                {
                    throw new KeyNotFoundException($"No device '{Str("id")}'");
                }
                await groups.SetMembershipAsync(Str("name"), Str("id"), method.EndsWith("add", StringComparison.OrdinalIgnoreCase), ct);
                return new JsonObject { ["name"] = Str("name"), ["devices"] = new JsonArray(groups.Members(Str("name")).Select(m => (JsonNode?)m).ToArray()) };
            case "events.subscribe":
                client.Require(Policies.DevicesRead);
                client.Subscribe(p["events"] is JsonArray ev ? ev.Select(e => e!.GetValue<string>()) : ClientConnection.AllEvents,
                    p["devices"] is JsonArray dv ? dv.Select(x => x!.GetValue<string>()) : null);
                SyncMessageListeners();
                return new JsonObject { ["events"] = new JsonArray(client.Events.Select(e => (JsonNode?)e).ToArray()) };
            case "events.unsubscribe":
                client.Subscribe([], null);
                SyncMessageListeners();
                return new JsonObject { ["events"] = new JsonArray() };
            case var m when m.StartsWith("ble.", StringComparison.Ordinal) && ble is not null:
                return await ble.CallAsync(method, p, client.Require, ct);
            default:
                throw new ShellyRpcException(-32601, $"Method not found: {method}");
        }
    }
}
