using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using FlowFleet.Server.Auth;

namespace FlowFleet.Server.Fleet.FleetManager;

public sealed partial class FmMethods
{
    private DeviceState Known(JsonObject p)
    {
        // shellyID, or FM's id: the shellyID or FM's numeric id (a number or its text).
        var name = p["shellyID"] is JsonValue s && s.TryGetValue<string>(out var sid) ? sid
            : p["id"] is JsonValue i ? (i.TryGetValue<string>(out var iid) ? iid : i.TryGetValue<long>(out var nid) ? nid.ToString(System.Globalization.CultureInfo.InvariantCulture) : null) : null;
        if (string.IsNullOrEmpty(name))
        {
            throw new FmException(FmFrames.InvalidParams, "Invalid Params: shellyID is required");
        }
        return FmFrames.Resolve(devices, name) ?? throw new FmException(FmFrames.InvalidRequest, "No such device");
    }

    /// <summary>FM's <c>Entity.*</c>: the entities of admitted devices (<see cref="FmEntities"/>), their status and config.</summary>
    private JsonNode? Entity(FmCaller caller, string name, JsonObject p)
    {
        Require(caller, Policies.DevicesRead);
        var entityId = p["id"] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;
        var found = entityId is null ? null : FmEntities.Find(devices, entityId);
        switch (name)
        {
            case "list":
                var list = new JsonObject();
                foreach (var d in devices.All.Where(d => d.Admission == AdmissionStates.Accepted).OrderBy(d => d.Id, StringComparer.Ordinal))
                {
                    foreach (var e in FmEntities.Of(d))
                    {
                        list[e["id"]!.GetValue<string>()] = e;
                    }
                }
                return list;
            case "getinfo":
                _ = entityId ?? throw new FmException(FmFrames.InvalidParams, "Invalid Params: id (the entity's id) is required");
                return found?.Entity ?? [];
            case "getstatus" or "getconfig" when entityId is null:
                var all = devices.All.Where(d => d.Admission == AdmissionStates.Accepted).SelectMany(FmEntities.Of).Select(e => (JsonNode?)e["id"]!.GetValue<string>()).ToArray();
                return name == "getstatus" ? new JsonObject { ["entities_count"] = all.Length, ["entities"] = new JsonArray(all) } : new JsonObject();
            case "getstatus" or "getconfig":
                if (found is not { } f)
                {
                    return new JsonObject();
                }
                lock (f.Device.Gate)
                {
                    var source = name == "getstatus" ? f.Device.Status : f.Device.Config;
                    return source?[FmEntities.StatusKey(f.Entity)]?.DeepClone() ?? new JsonObject();
                }
            default:
                throw new FmException(FmFrames.MethodNotFound, "Method not found");
        }
    }

    private JsonObject DeviceObject(DeviceState d) => FmFrames.DeviceObject(d, hub.IsReachable(d.Id), events.KvsOf(d.Id));

    private async Task<JsonNode?> DeviceAsync(FmCaller caller, string name, JsonObject p, CancellationToken ct)
    {
        switch (name)
        {
            case "list":
                Require(caller, Policies.DevicesRead);
                var list = new JsonObject();
                var filters = p["filters"] as JsonObject;
                foreach (var d in devices.All.Where(d => d.Admission != AdmissionStates.Denied).OrderBy(d => d.Id, StringComparer.Ordinal))
                {
                    var o = DeviceObject(d);
                    // FM filters on simple top-level keys (app, model, presence…): of the device object or of its info.
                    if (filters is null || filters.All(f => f.Value is not JsonValue want || JsonNode.DeepEquals(o[f.Key] ?? o["info"]?[f.Key], want)))
                    {
                        list[d.Id] = o;
                    }
                }
                return list;
            case "get":
                Require(caller, Policies.DevicesRead);
                return DeviceObject(Known(p));
            case "getinfo":
                Require(caller, Policies.DevicesRead);
                return p["id"] is JsonValue && FmFrames.Resolve(devices, p["id"]!.ToString()) is { } di ? di.Info ?? [] : new JsonObject();
            case "getstatus":
                Require(caller, Policies.DevicesRead);
                if (p["id"] is JsonValue && FmFrames.Resolve(devices, p["id"]!.ToString()) is { } ds)
                {
                    lock (ds.Gate)
                    {
                        return ds.Status;
                    }
                }
                return DeviceStatus();
            case "getconfig":
                Require(caller, Policies.DevicesRead);
                return p["id"] is JsonValue && FmFrames.Resolve(devices, p["id"]!.ToString()) is { } dc ? dc.Config ?? [] : new JsonObject();
            case "call":
                Require(caller, Policies.DevicesControl);
                var target = Known(p);
                var method = Str(p, "method");
                if (!hub.IsReachable(target.Id))
                {
                    throw new FmException(FmFrames.InvalidRequest, "No such device");
                }
                try
                {
                    return await hub.CallAsync(target.Id, method, p["params"], null, caller.User.Identity?.Name, ct);
                }
                catch (ShellyRpcException ex)
                {
                    // FM passes the device's error through (code and message as the device sent them).
                    throw new FmException(ex.Code, ex.Message);
                }
            case "delete":
                Require(caller, Policies.DevicesControl);
                var gone = Known(p);
                await hub.DenyAsync(gone.Id, ct);
                await devices.RemoveAsync(gone.Id, ct);
                return new JsonObject { ["deleted"] = gone.Id };
            default:
                return await WaitingRoomAsync(caller, name, p, ct);
        }
    }

    private async Task<JsonNode?> WaitingRoomAsync(FmCaller caller, string name, JsonObject p, CancellationToken ct)
    {
        switch (name)
        {
            case "getpending" or "getdenied":
                Require(caller, Policies.DevicesRead);
                var state = name == "getpending" ? AdmissionStates.Pending : AdmissionStates.Denied;
                var o = new JsonObject();
                foreach (var d in devices.All.Where(d => d.Admission == state).OrderBy(d => d.Id, StringComparer.Ordinal))
                {
                    o[d.Id] = DeviceObject(d);
                }
                return o;
            case "acceptpending" or "acceptpendingbyexternalid" or "acceptpendingbyid":
                Require(caller, Policies.DevicesControl);
                // AcceptPendingById takes FM's numeric ids (FmFrames.NumericId) or shellyIDs.
                var accept = Strings(p, name switch { "acceptpending" => p.ContainsKey("shellyIDs") ? "shellyIDs" : "shellyID", "acceptpendingbyexternalid" => "externalIds", _ => "ids" });
                return await AdmitAsync(accept, true, ct);
            case "rejectpending":
                Require(caller, Policies.DevicesControl);
                return await AdmitAsync(Strings(p, "shellyIDs"), false, ct);
            case "getconfig":
                Require(caller, Policies.DevicesRead);
                return ComponentConfig("waitingroom");
            case "getstatus":
                Require(caller, Policies.DevicesRead);
                return ComponentStatus("waitingroom");
            default:
                throw new FmException(FmFrames.MethodNotFound, "Method not found");
        }
    }

    private async Task<JsonObject> AdmitAsync(IEnumerable<string> names, bool accept, CancellationToken ct)
    {
        var success = new JsonArray();
        var error = new JsonArray();
        foreach (var name in names)
        {
            if (FmFrames.Resolve(devices, name) is not { } d)
            {
                error.Add(name);
                continue;
            }
            if (accept)
            {
                await hub.AcceptAsync(d.Id, ct);
            }
            else
            {
                await hub.DenyAsync(d.Id, ct);
            }
            success.Add(name);
        }
        return new JsonObject { ["success"] = success, ["error"] = error };
    }

    private async Task<JsonNode?> GroupAsync(FmCaller caller, string name, JsonObject p, CancellationToken ct)
    {
        Require(caller, name is "list" or "get" or "find" or "getconfig" ? Policies.DevicesRead : Policies.DevicesControl);
        switch (name)
        {
            case "list":
                return GroupList();
            case "get":
                var gid = GroupId(p);
                return GroupName(gid) is { } gname ? Group(gid, gname) : null;
            case "find":
                var sid = Str(p, "shellyID");
                return new JsonArray(groups.GroupIds.Where(g => groups.Members(g.Name).Contains(sid)).Select(g => (JsonNode?)g.Id).ToArray());
            case "create":
                var newName = Str(p, "name");
                int id;
                try
                {
                    id = await groups.CreateGroupAsync(newName, null, ct);
                }
                catch (InvalidOperationException ex)
                {
                    throw new FmException(FmFrames.InvalidParams, ex.Message);
                }
                foreach (var member in p["devices"] is JsonArray ? Strings(p, "devices") : [])
                {
                    if (FmFrames.Resolve(devices, member) is { } d)
                    {
                        await groups.SetMembershipAsync(newName.Trim(), d.Id, true, ct);
                    }
                }
                return Group(id, newName.Trim());
            case "add" or "remove":
                var group = GroupName(GroupId(p));
                var device = FmFrames.Resolve(devices, Str(p, "shellyID"));
                var key = name == "add" ? "added" : "removed";
                if (group is null || device is null || groups.Members(group).Contains(device.Id) == (name == "add"))
                {
                    return new JsonObject { [key] = false };
                }
                await groups.SetMembershipAsync(group, device.Id, name == "add", ct);
                return new JsonObject { [key] = true };
            case "delete":
                var doomed = GroupName(GroupId(p));
                if (doomed is null)
                {
                    return new JsonObject { ["deleted"] = false };
                }
                await groups.DeleteGroupAsync(doomed, ct);
                return new JsonObject { ["deleted"] = true };
            case "rename":
                var old = GroupName(GroupId(p));
                return new JsonObject { ["renamed"] = old is not null && await groups.RenameGroupAsync(old, Str(p, "newName"), ct) };
            case "set":
                var setId = GroupId(p);
                var current = GroupName(setId) ?? throw new FmException(FmFrames.InvalidParams, "No such group");
                if (p["name"] is JsonValue && Str(p, "name") != current && await groups.RenameGroupAsync(current, Str(p, "name"), ct))
                {
                    current = Str(p, "name").Trim();
                }
                if (p["devices"] is JsonArray)
                {
                    var want = Strings(p, "devices").Select(x => FmFrames.Resolve(devices, x)?.Id).OfType<string>().ToHashSet(StringComparer.Ordinal);
                    foreach (var m in groups.Members(current).Where(m => !want.Contains(m)).ToList())
                    {
                        await groups.SetMembershipAsync(current, m, false, ct);
                    }
                    foreach (var m in want)
                    {
                        await groups.SetMembershipAsync(current, m, true, ct);
                    }
                }
                return Group(setId, current);
            default:
                throw new FmException(FmFrames.MethodNotFound, "Method not found");
        }
    }

    private JsonNode? Storage(FmCaller caller, string name, JsonObject p)
    {
        Require(caller, name is "getitem" or "getall" or "keys" ? Policies.DevicesRead : Policies.DevicesControl);
        var reg = Str(p, "registry");
        switch (name)
        {
            case "getitem":
                return storage.GetItem(reg, Str(p, "key"));
            case "getall":
                return storage.GetAll(reg);
            case "keys":
                return storage.Keys(reg);
            case "setitem":
                storage.SetItem(reg, Str(p, "key"), p["value"]);
                return null;
            case "removeitem":
                return new JsonObject { ["removed"] = storage.RemoveItem(reg, Str(p, "key")) };
            default:
                throw new FmException(FmFrames.MethodNotFound, "Method not found");
        }
    }

    private async Task<JsonNode?> UserAsync(FmCaller caller, string name, JsonObject p, CancellationToken ct)
    {
        switch (name)
        {
            case "authenticate":
                var user = Str(p, "username");
                if (throttle.IsBlocked(user, caller.Address, out _))
                {
                    throw new FmException(FmFrames.InvalidRequest, "Too many failed logins; try again later");
                }
                var account = await users.VerifyAsync(user, p["password"]?.ToString() ?? "", ct);
                if (account is null)
                {
                    await throttle.FailedAsync(user, caller.Address);
                    throw new FmException(FmFrames.InvalidRequest, "Invalid request");
                }
                await throttle.SucceededAsync(user, caller.Address);
                var (access, accessIdentity) = await tokens.IssueAsync(account, "*", "fleet-manager", ct);
                var (refresh, refreshIdentity) = await tokens.IssueAsync(account, "*", "fleet-manager-refresh", ct);
                return new JsonObject { ["access_token"] = FmToken.Wrap(access, accessIdentity), ["refresh_token"] = FmToken.Wrap(refresh, refreshIdentity) };
            case "refresh":
                var identity = await tokens.ValidateAsync(FmToken.Unwrap(Str(p, "refresh_token")), ct) ?? throw new FmException(FmFrames.InvalidRequest, "Invalid request");
                var again = await users.FindAsync(identity.UserName, ct) ?? throw new FmException(FmFrames.InvalidRequest, "Invalid request");
                var (token, tokenIdentity) = await tokens.IssueAsync(again, identity.Scope, "fleet-manager", ct);
                return new JsonObject { ["access_token"] = FmToken.Wrap(token, tokenIdentity) };
            default:
                throw new FmException(FmFrames.MethodNotFound, "Method not found");
        }
    }
}
