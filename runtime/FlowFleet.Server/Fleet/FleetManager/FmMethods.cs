using System.Security.Claims;
using System.Text.Json.Nodes;
using FlowFleet.Fleet;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using FlowFleet.Server.Auth;
using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Fleet.FleetManager;

/// <summary>An error answered in FM's shape (<c>{"code":-32602,"message":"…"}</c>); a device's own error passes through.</summary>
public sealed class FmException(int code, string message) : Exception(message)
{
    public int Code { get; } = code;
}

/// <summary>Who calls: the user (roles apply to every method), the websocket session if any (for subscriptions), the address.</summary>
public sealed record FmCaller(ClaimsPrincipal User, FmSession? Session, string? Address);

/// <summary>
/// The server methods of Shelly's fleet manager, called with <c>dst:"FLEET_MANAGER"</c> on the client websocket or over
/// HTTP <c>/rpc</c>: <c>FleetManager.*</c>, <c>Device.*</c>, <c>WaitingRoom.*</c>, <c>Group.*</c>, <c>Storage.*</c>,
/// <c>User.Authenticate/Refresh</c>. Method names are case-insensitive; shapes follow FM's docs and handlers.
/// </summary>
public sealed partial class FmMethods(DeviceHub hub, IDeviceStore devices, IGroupStore groups, FmEvents events, FmStorage storage, UserService users, TokenService tokens,
    LoginThrottle throttle, IOptions<FleetOptions> options)
{
    public static readonly string[] Components = ["fleetmanager", "device", "entity", "waitingroom", "group", "storage", "user"];

    private static readonly Dictionary<string, string[]> s_methods = new(StringComparer.Ordinal)
    {
        ["fleetmanager"] = ["Subscribe", "Unsubscribe", "ListCommands", "GetConfig", "GetStatus", "GetVariables", "SendRPC", "ListMethods"],
        ["device"] = ["List", "Get", "GetInfo", "GetStatus", "GetConfig", "Call", "Delete", "GetPending", "GetDenied", "AcceptPending", "AcceptPendingById", "AcceptPendingByExternalId", "RejectPending", "ListMethods"],
        ["entity"] = ["List", "GetInfo", "GetStatus", "GetConfig", "ListMethods"],
        ["waitingroom"] = ["GetPending", "GetDenied", "AcceptPending", "AcceptPendingById", "AcceptPendingByExternalId", "RejectPending", "GetConfig", "GetStatus", "ListMethods"],
        ["group"] = ["List", "Get", "Create", "Add", "Remove", "Delete", "Rename", "Find", "Set", "ListMethods"],
        ["storage"] = ["GetItem", "SetItem", "RemoveItem", "Keys", "GetAll", "ListMethods"],
        ["user"] = ["Authenticate", "Refresh", "ListMethods"],
    };

    /// <summary>Methods anyone may call (logging in).</summary>
    public static bool IsAnonymous(string method) => method.ToLowerInvariant() is "user.authenticate" or "user.refresh" or "fleetmanager.getvariables";

    public async Task<JsonNode?> CallAsync(FmCaller caller, string method, JsonNode? parameters, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(method);
        var p = parameters as JsonObject ?? [];
        var dot = method.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0)
        {
            throw new FmException(FmFrames.InvalidRequest, "Method must include '.'");
        }
        var component = method[..dot].ToLowerInvariant();
        var name = method[(dot + 1)..].ToLowerInvariant();
        if (name == "listmethods" && s_methods.TryGetValue(component, out var list))
        {
            return new JsonArray(list.Select(m => (JsonNode?)m.ToLowerInvariant()).ToArray());
        }
        if (component is "fleetmanager" or "device" or "entity" or "waitingroom" or "group" && FlowFleet.Fleet.Registry.DeviceAccess.For(caller.User).Limited)
        {
            // FM's methods know no per-user device limit; a user limited to some groups uses FlowFleet's own /client methods.
            throw new FmException(FmFrames.Unauthorized, "Unauthorized: your account is limited to some device groups; use FlowFleet's Device.* methods on /client");
        }
        return component switch
        {
            "fleetmanager" => await FleetManagerAsync(caller, name, p, ct),
            "device" => await DeviceAsync(caller, name, p, ct),
            "entity" => Entity(caller, name, p),
            "waitingroom" => await WaitingRoomAsync(caller, name, p, ct),
            "group" => await GroupAsync(caller, name, p, ct),
            "storage" => Storage(caller, name, p),
            "user" => await UserAsync(caller, name, p, ct),
            _ => throw new FmException(FmFrames.MethodNotFound, "Method not found"),
        };
    }

    private static void Require(FmCaller caller, string permission)
    {
        if (!Principals.Has(caller.User, permission))
        {
            throw new FmException(FmFrames.Unauthorized, $"Unauthorized: your role does not allow {permission}");
        }
    }

    private static string Str(JsonObject p, string name) =>
        p[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : throw new FmException(FmFrames.InvalidParams, $"Invalid Params: {name} (a string) is required");

    private static List<string> Strings(JsonObject p, string name) =>
        p[name] is JsonArray a ? a.Select(x => x?.ToString() ?? "").ToList() : throw new FmException(FmFrames.InvalidParams, $"Invalid Params: {name} (an array) is required");

    private static int GroupId(JsonObject p) =>
        p["id"] is JsonValue v && v.TryGetValue<double>(out var d) ? (int)d
        : p["id"] is JsonValue s && s.TryGetValue<string>(out var text) && int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n
        : throw new FmException(FmFrames.InvalidParams, "Invalid Params: id (the group's number) is required");

    private async Task<JsonNode?> FleetManagerAsync(FmCaller caller, string name, JsonObject p, CancellationToken ct)
    {
        switch (name)
        {
            case "subscribe":
                Require(caller, Policies.DevicesRead);
                var session = caller.Session ?? throw new FmException(-32001, "Subscribe needs a websocket connection");
                var names = Strings(p, "events");
                var ids = session.Subscribe(names, p["options"] as JsonObject);
                events.SubscriptionsChanged();
                return new JsonObject { ["ids"] = new JsonArray(ids.Select(i => (JsonNode?)i).ToArray()) };
            case "unsubscribe":
                Require(caller, Policies.DevicesRead);
                var remove = Strings(p, "ids").Select(x => int.TryParse(x, System.Globalization.CultureInfo.InvariantCulture, out var i) ? i : -1);
                caller.Session?.Unsubscribe(remove);
                events.SubscriptionsChanged();
                return null;
            case "listcommands":
                Require(caller, Policies.DevicesRead);
                return new JsonArray(Components.Select(c => (JsonNode?)c).ToArray());
            case "getvariables":
                return new JsonObject { ["login-strategy"] = "backend-jwt" };
            case "getconfig":
                Require(caller, Policies.DevicesRead);
                var config = new JsonObject();
                foreach (var c in Components)
                {
                    config[c] = ComponentConfig(c);
                }
                return config;
            case "getstatus":
                Require(caller, Policies.DevicesRead);
                var status = new JsonObject();
                foreach (var c in Components)
                {
                    status[c] = ComponentStatus(c);
                }
                return status;
            case "sendrpc":
                Require(caller, Policies.DevicesControl);
                var method = p["method"] is JsonValue mv && mv.TryGetValue<string>(out var m) && m.Length > 0 ? m : throw new FmException(FmFrames.InvalidParams, "SendRPC: \"method\" is required");
                var targets = p["dst"] is JsonArray arr ? arr.Select(x => x?.ToString() ?? "").ToList() : [p["dst"]?.ToString() ?? ""];
                var results = new JsonObject();
                var answers = await Task.WhenAll(targets.Select(async t => (t, await CallDeviceAsync(caller, t, method, p["params"] ?? new JsonObject(), ct))));
                foreach (var (target, answer) in answers)
                {
                    results[target] = answer;
                }
                return results;
            default:
                throw new FmException(FmFrames.MethodNotFound, "Method not found");
        }
    }

    /// <summary>One device call for SendRPC: the result, or the error object in its place.</summary>
    private async Task<JsonNode?> CallDeviceAsync(FmCaller caller, string target, string method, JsonNode parameters, CancellationToken ct)
    {
        var d = FmFrames.Resolve(devices, target);
        if (d is null || !hub.IsReachable(d.Id))
        {
            return new JsonObject { ["code"] = -32002, ["message"] = "Device offline or not found" };
        }
        try
        {
            return await hub.CallAsync(d.Id, method, parameters, null, caller.User.Identity?.Name, ct);
        }
        catch (ShellyRpcException ex)
        {
            return ex.ToJson();
        }
    }

    private JsonObject ComponentConfig(string component) => component switch
    {
        "fleetmanager" => new JsonObject { ["source"] = options.Value.Source, ["rpc_timeout"] = options.Value.RpcTimeout.TotalSeconds, ["max_frame_bytes"] = options.Value.MaxFrameBytes },
        "waitingroom" => new JsonObject { ["enable"] = !options.Value.Admission.Equals("auto", StringComparison.OrdinalIgnoreCase) },
        "group" => new JsonObject { ["enable"] = true, ["groups"] = GroupList() },
        _ => new JsonObject { ["enable"] = true },
    };

    private JsonObject ComponentStatus(string component) => component switch
    {
        "device" => DeviceStatus(),
        "waitingroom" => new JsonObject { ["pending"] = devices.All.Count(d => d.Admission == AdmissionStates.Pending), ["denied"] = devices.All.Count(d => d.Admission == AdmissionStates.Denied) },
        "fleetmanager" => new JsonObject { ["online"] = hub.OnlineCount, ["connections"] = hub.ConnectionCount, ["devices"] = devices.Count },
        _ => [],
    };

    private JsonObject DeviceStatus()
    {
        // In a cluster: the devices every instance holds.
        var online = hub.Sessions.Where(s => s.Admitted).Select(s => s.Id).Concat(hub.Remote is { } remote ? devices.All.Where(d => remote.OwnerOf(d.Id) is not null).Select(d => d.Id) : [])
            .OrderBy(x => x, StringComparer.Ordinal).ToList();
        return new JsonObject { ["devices_size"] = online.Count, ["devices"] = new JsonArray(online.Select(x => (JsonNode?)x).ToArray()) };
    }

    private JsonObject GroupList()
    {
        var list = new JsonObject();
        foreach (var (id, name) in groups.GroupIds)
        {
            list[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = Group(id, name);
        }
        return list;
    }

    private JsonObject Group(int id, string name) =>
        new() { ["id"] = id, ["name"] = name, ["devices"] = new JsonArray(groups.Members(name).Select(m => (JsonNode?)m).ToArray()) };

    private string GroupName(int id) => groups.GroupIds.FirstOrDefault(g => g.Id == id).Name;
}
