using System.Security.Claims;
using System.Text.Json.Nodes;
using FlowFleet.Fleet;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using FlowFleet.Fleet.Rpc;
using FlowFleet.Server.Auth;
using FlowFleet.Server.Red;
using Microsoft.AspNetCore.Mvc;

namespace FlowFleet.Server.Fleet;

/// <summary>REST for the fleet under <c>/api</c>: devices, RPC (one or many), admission, groups, tags, desired state, telemetry, logs.</summary>
public static class FleetApi
{
    public sealed record RpcRequest(string? Method, JsonNode? Params, double? Timeout);

    public sealed record ManyRpcRequest(string[]? Targets, string? Method, JsonNode? Params, double? Timeout);

    public sealed record DevicePatch(string? Name, string[]? Tags);

    public sealed record GroupRequest(string? Name, string? Description);

    public sealed record AdoptRequest(string? Address, string? Password);

    public sealed record TokenRequest(string? Name);

    public static void MapFleetApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("fleet");
        api.AddEndpointFilter(LimitToUsersGroups);
        var read = api.MapGroup("").RequireAuthorization(Policies.DevicesRead);
        var control = api.MapGroup("").RequireAuthorization(Policies.DevicesControl);

        read.MapGet("/devices", (DeviceRegistry registry, ClaimsPrincipal user, string? search, string? model, string? group, string? tag, bool? online, string? admission, string? sort, int? offset, int? limit) =>
        {
            var (items, total) = registry.Query(new DeviceQuery
            {
                Search = search, Model = model, Group = group, Tag = tag, Online = online, Admission = admission, Sort = sort ?? "name", Offset = offset ?? 0, Limit = limit ?? 100,
                Within = DeviceAccess.For(user).Devices(registry),
            });
            return Results.Json(new JsonObject { ["items"] = new JsonArray(items.Select(d => (JsonNode?)d.Summary(registry.GroupsOf(d.Id))).ToArray()), ["total"] = total });
        }).WithName("ListDevices");

        read.MapGet("/devices/pending", (DeviceRegistry registry, DeviceHub hub, ClaimsPrincipal user) =>
        {
            var access = DeviceAccess.For(user);
            var (items, total) = registry.Query(new DeviceQuery { Admission = AdmissionStates.Pending, Limit = 10_000, Sort = "-lastSeen", Within = access.Devices(registry) });
            // Connections claiming an accepted device's id without proof wait here too, apart from the devices (issue 13).
            var claims = access.Limited ? [] : hub.Claims;
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray(items.Select(d => (JsonNode?)d.Summary([])).ToArray()), ["total"] = total,
                ["claims"] = new JsonArray(claims.Select(c => (JsonNode?)ClaimJson(c)).ToArray()),
            });
        }).WithName("ListPendingDevices");

        control.MapPost("/devices/claims/{key}/accept", async (string key, DeviceHub hub, ClaimsPrincipal user) =>
            !DeviceAccess.For(user).Limited && await hub.AcceptClaimAsync(key) ? Results.NoContent() : RedErrors.Json(404, "not_found", $"No claim '{key}' is waiting"))
            .WithName("AcceptDeviceClaim");
        control.MapPost("/devices/claims/{key}/deny", async (string key, DeviceHub hub, ClaimsPrincipal user) =>
            !DeviceAccess.For(user).Limited && await hub.DenyClaimAsync(key) ? Results.NoContent() : RedErrors.Json(404, "not_found", $"No claim '{key}' is waiting"))
            .WithName("DenyDeviceClaim");

        read.MapGet("/devices/{id}", (string id, DeviceRegistry registry, DeviceHub hub) =>
        {
            var d = registry.Get(id);
            if (d is null)
            {
                return NotFound(id);
            }
            var o = d.Details(registry.GroupsOf(id));
            if (hub.Session(id) is { } s)
            {
                o["connectedAt"] = s.ConnectedAt.ToString("O");
                o["framesIn"] = s.FramesIn;
                o["framesOut"] = s.FramesOut;
            }
            return Results.Json(o);
        }).WithName("GetDevice");

        control.MapPost("/devices/{id}/rpc", async (string id, [FromBody] RpcRequest body, DeviceHub hub, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(body.Method))
            {
                return RedErrors.BadRequest("method is required");
            }
            try
            {
                var result = await hub.CallAsync(id, body.Method, body.Params, Timeout(body.Timeout), user.Identity?.Name, ct);
                return Results.Json(result);
            }
            catch (ShellyRpcException ex)
            {
                return DeviceError(ex);
            }
        }).WithName("CallDevice");

        control.MapPost("/rpc", async ([FromBody] ManyRpcRequest body, DeviceHub hub, DeviceRegistry registry, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(body.Method) || body.Targets is not { Length: > 0 })
            {
                return RedErrors.BadRequest("method and targets (device ids, group:NAME, tag:NAME or *) are required");
            }
            var ids = DeviceAccess.For(user).Filter(registry, body.Targets.SelectMany(registry.Resolve).Distinct(StringComparer.Ordinal));
            var results = await FleetRpc.CallManyAsync(hub, ids, body.Method, body.Params, Timeout(body.Timeout), user.Identity?.Name, ct: ct);
            return Results.Json(new JsonObject
            {
                ["total"] = results.Count, ["ok"] = results.Count(r => r.Ok), ["failed"] = results.Count(r => !r.Ok),
                ["results"] = new JsonArray(results.Select(r => (JsonNode?)r.ToJson()).ToArray()),
            });
        }).WithName("CallMany");

        control.MapPatch("/devices/{id}", async (string id, [FromBody] DevicePatch body, DeviceRegistry registry, CancellationToken ct) =>
        {
            if (registry.Get(id) is null)
            {
                return NotFound(id);
            }
            if (body.Name is not null)
            {
                await registry.SetNameAsync(id, body.Name.Length == 0 ? null : body.Name, ct);
            }
            if (body.Tags is not null)
            {
                await registry.SetTagsAsync(id, body.Tags, ct);
            }
            return Results.Json(registry.Get(id)!.Summary(registry.GroupsOf(id)));
        }).WithName("UpdateDevice");

        control.MapDelete("/devices/{id}", async (string id, DeviceRegistry registry, CancellationToken ct) =>
        {
            if (registry.Get(id) is null)
            {
                return NotFound(id);
            }
            await registry.RemoveAsync(id, ct);
            return Results.NoContent();
        }).WithName("DeleteDevice");

        control.MapPost("/devices/{id}/accept", async (string id, DeviceHub hub, DeviceRegistry registry, CancellationToken ct) =>
        {
            if (registry.Get(id) is null)
            {
                return NotFound(id);
            }
            await hub.AcceptAsync(id, ct);
            return Results.Json(registry.Get(id)!.Summary(registry.GroupsOf(id)));
        }).WithName("AcceptDevice");

        control.MapPost("/devices/{id}/deny", async (string id, DeviceHub hub, DeviceRegistry registry, CancellationToken ct) =>
        {
            if (registry.Get(id) is null)
            {
                return NotFound(id);
            }
            await hub.DenyAsync(id, ct);
            return Results.Json(registry.Get(id)!.Summary(registry.GroupsOf(id)));
        }).WithName("DenyDevice");

        read.MapGet("/devices/{id}/desired", (string id, DeviceRegistry registry) =>
        {
            var d = registry.Get(id);
            if (d is null)
            {
                return NotFound(id);
            }
            lock (d.Gate)
            {
                return Results.Json(new JsonObject { ["desired"] = d.Desired?.DeepClone(), ["reported"] = d.Status, ["config"] = d.Config });
            }
        }).WithName("GetDesired");

        control.MapPut("/devices/{id}/desired", async (string id, [FromBody] JsonObject? desired, DeviceRegistry registry, DeviceHub hub, CancellationToken ct) =>
        {
            if (registry.Get(id) is null)
            {
                return NotFound(id);
            }
            await registry.SetDesiredAsync(id, desired, ct);
            var applied = await hub.ApplyDesiredAsync(id, ct);
            return Results.Json(new JsonObject { ["desired"] = desired?.DeepClone(), ["online"] = hub.IsOnline(id), ["applied"] = new JsonArray(applied.Select(a => (JsonNode?)a).ToArray()) });
        }).WithName("SetDesired");

        read.MapGet("/devices/{id}/telemetry", async (string id, string? field, long? from, long? to, long? bucket, DeviceRegistry registry, CancellationToken ct) =>
        {
            if (registry.Get(id) is null)
            {
                return NotFound(id);
            }
            if (string.IsNullOrEmpty(field))
            {
                return Results.Json(new { fields = await registry.TelemetryFieldsAsync(id, ct) });
            }
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var t0 = from ?? now - 24 * 3600_000;
            var t1 = to ?? now;
            var points = await registry.TelemetryAsync(id, field, t0, t1, (bucket ?? 60) * 1000, ct);
            return Results.Json(new { id, field, from = t0, to = t1, bucket = bucket ?? 60, points = points.Select(p => new { ts = p.Ts, avg = p.Avg, min = p.Min, max = p.Max, last = p.Last, count = p.Count }) });
        }).WithName("GetTelemetry");

        read.MapGet("/devices/{id}/events", async (string id, int? limit, DeviceRegistry registry, CancellationToken ct) =>
            Results.Json((await registry.EventLogAsync(id, limit ?? 100, ct)).Select(e => new { ts = e.Ts, kind = e.Kind, component = e.Component, @event = e.Event, data = e.DataJson is null ? null : JsonNode.Parse(e.DataJson) })))
            .WithName("GetDeviceEvents");

        read.MapGet("/audit", async (string? device, int? limit, DeviceRegistry registry, ClaimsPrincipal user, CancellationToken ct) =>
            Results.Json((await registry.AuditLogAsync(device, limit ?? 100, ct)).Where(a => !DeviceAccess.For(user).Limited || (a.DeviceId is { } d && DeviceAccess.For(user).CanSee(registry, d))).Select(a => new { ts = a.Ts, user = a.User, device = a.DeviceId, method = a.Method, @params = a.ParamsJson is null ? null : JsonNode.Parse(a.ParamsJson), ok = a.Ok, error = a.Error, durationMs = a.DurationMs })))
            .WithName("GetAudit");

        read.MapGet("/groups", (DeviceRegistry registry, ClaimsPrincipal user) =>
            Results.Json(DeviceAccess.For(user).GroupNames(registry).Select(g => new { name = g, devices = registry.Members(g) }))).WithName("ListGroups");
        control.MapPost("/groups", async ([FromBody] GroupRequest body, DeviceRegistry registry, CancellationToken ct) =>
        {
            try
            {
                await registry.CreateGroupAsync(body.Name ?? "", body.Description, ct);
                return Results.Created($"/api/groups/{body.Name}", new { name = body.Name, devices = Array.Empty<string>() });
            }
            catch (ArgumentException ex)
            {
                return RedErrors.BadRequest(ex.Message);
            }
            catch (InvalidOperationException ex)
            {
                return RedErrors.Json(409, "conflict", ex.Message);
            }
        }).WithName("CreateGroup");
        control.MapDelete("/groups/{name}", async (string name, DeviceRegistry registry, CancellationToken ct) =>
        {
            try
            {
                await registry.DeleteGroupAsync(name, ct);
                return Results.NoContent();
            }
            catch (KeyNotFoundException ex)
            {
                return RedErrors.Json(404, "not_found", ex.Message);
            }
        }).WithName("DeleteGroup");
        control.MapPut("/groups/{name}/devices/{id}", (string name, string id, DeviceRegistry registry, CancellationToken ct) => Membership(registry, name, id, true, ct)).WithName("AddToGroup");
        control.MapDelete("/groups/{name}/devices/{id}", (string name, string id, DeviceRegistry registry, CancellationToken ct) => Membership(registry, name, id, false, ct)).WithName("RemoveFromGroup");

        control.MapGet("/enrollment-tokens", async (DeviceRegistry registry, HttpContext ctx, CancellationToken ct) =>
            Results.Json((await registry.TokensAsync(ct)).Select(t => new { token = t.Token, name = t.Name, createdAt = t.CreatedAt, revoked = t.Revoked, uses = t.Uses, url = DeviceUrl(ctx, t.Token) })))
            .WithName("ListEnrollmentTokens");
        control.MapPost("/enrollment-tokens", async ([FromBody] TokenRequest body, DeviceRegistry registry, HttpContext ctx, CancellationToken ct) =>
        {
            var t = await registry.CreateTokenAsync(body.Name, ct);
            return Results.Json(new { token = t.Token, name = t.Name, createdAt = t.CreatedAt, revoked = false, uses = 0, url = DeviceUrl(ctx, t.Token) });
        }).WithName("CreateEnrollmentToken");
        control.MapDelete("/enrollment-tokens/{token}", async (string token, DeviceRegistry registry, CancellationToken ct) =>
            await registry.RevokeTokenAsync(token, ct) ? Results.NoContent() : RedErrors.Json(404, "not_found", "No such token")).WithName("RevokeEnrollmentToken");

        control.MapPost("/devices/adopt", async ([FromBody] AdoptRequest body, DeviceAdopter adopter, HttpContext ctx, IConfiguration config, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(body.Address))
            {
                return RedErrors.BadRequest("address is required");
            }
            try
            {
                var server = config["Fleet:PublicUrl"] ?? DeviceUrl(ctx, null);
                var id = await adopter.AdoptAsync(body.Address, body.Password, server, ct);
                return Results.Json(new { id, server });
            }
            catch (ShellyRpcException ex)
            {
                return DeviceError(ex);
            }
        }).WithName("AdoptDevice");

        read.MapGet("/tables/{table}", async (string table, int? limit, DeviceRegistry registry, CancellationToken ct) =>
            Results.Json((await registry.RowsAsync(table, limit ?? 100, ct)).Select(r => new { id = r.Id, ts = r.Ts, row = JsonNode.Parse(r.Json) })))
            .WithName("GetTableRows");

        read.MapGet("/fleet/stats", (DeviceHub hub, DeviceRegistry registry) => Results.Json(new
        {
            devices = registry.Count, online = hub.OnlineCount, connections = hub.ConnectionCount, eventsProcessed = hub.EventsProcessed,
            framesRejected = hub.FramesRejected, connectionsRefused = hub.ConnectionsRefused, directConnections = hub.DirectConnections, telemetryDropped = registry.TelemetryDropped,
            pending = registry.All.Count(d => d.Admission == AdmissionStates.Pending),
        })).WithName("FleetStats");
    }

    /// <summary>Endpoints a user limited to some device groups may not use: they reach beyond the user's groups.</summary>
    private static readonly HashSet<string> s_needAllDevices = new(StringComparer.Ordinal)
    {
        "CreateGroup", "DeleteGroup", "AddToGroup", "RemoveFromGroup", "ListEnrollmentTokens", "CreateEnrollmentToken", "RevokeEnrollmentToken", "AdoptDevice",
    };

    /// <summary>
    /// A user limited to some device groups reaches only their members: a device outside is "not found" (its existence is
    /// not revealed), and what would reach beyond the groups (group membership, enrollment, adoption) is forbidden.
    /// </summary>
    private static async ValueTask<object?> LimitToUsersGroups(EndpointFilterInvocationContext ctx, EndpointFilterDelegate next)
    {
        var http = ctx.HttpContext;
        var access = DeviceAccess.For(http.User);
        if (!access.Limited)
        {
            return await next(ctx);
        }
        var registry = http.RequestServices.GetRequiredService<DeviceRegistry>();
        if (http.GetRouteValue("id") is string id && !access.CanSee(registry, id))
        {
            return NotFound(id);
        }
        if (http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName is { } name && s_needAllDevices.Contains(name))
        {
            return RedErrors.Json(403, "forbidden", "Your account is limited to some device groups; this needs access to all devices");
        }
        return await next(ctx);
    }

    private static async Task<IResult> Membership(DeviceRegistry registry, string name, string id, bool member, CancellationToken ct)
    {
        try
        {
            await registry.SetMembershipAsync(name, id, member, ct);
            return Results.Json(new { name, devices = registry.Members(name) });
        }
        catch (KeyNotFoundException ex)
        {
            return RedErrors.Json(404, "not_found", ex.Message);
        }
    }

    /// <summary>The URL devices use to reach this server's <c>/shelly</c>, with an enrollment token if given.</summary>
    public static string DeviceUrl(HttpContext ctx, string? token)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var scheme = ctx.Request.IsHttps ? "wss" : "ws";
        return $"{scheme}://{ctx.Request.Host}/shelly" + (token is null ? "" : "?token=" + token);
    }

    private static TimeSpan? Timeout(double? seconds) => seconds is > 0 ? TimeSpan.FromSeconds(Math.Min(seconds.Value, 300)) : null;

    private static IResult NotFound(string id) => RedErrors.Json(404, "not_found", $"Device {id} not found");

    /// <summary>
    /// A failed device call as JSON. The device's own error (even its <c>-104</c> deadline or <c>-114</c>) is 502 with
    /// <c>source:"device"</c> — the device answered, with an error; FlowFleet's own failures are 503 (device offline) and
    /// 504 (no answer in time), <c>source:"flowfleet"</c>. The body always carries the JSON-RPC code and message.
    /// </summary>
    public static IResult DeviceError(ShellyRpcException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var status = ex.FromDevice ? 502 : ex.Code switch
        {
            ShellyRpcException.Unavailable => 503,
            ShellyRpcException.DeadlineExceeded => 504,
            _ => 502,
        };
        var message = ex.FromDevice ? $"The device answered with an error: {ex.Message}" : ex.Message;
        return Results.Json(new { error = new { code = ex.Code, message, source = ex.FromDevice ? "device" : "flowfleet" } }, statusCode: status);
    }

    private static JsonObject ClaimJson(DeviceClaim c) => new()
    {
        ["key"] = c.Key, ["id"] = c.Id, ["remote"] = c.Remote, ["at"] = c.At.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ["withToken"] = c.WithToken, ["model"] = c.Model, ["app"] = c.App, ["firmware"] = c.Firmware, ["mac"] = c.Mac, ["note"] = DeviceClaim.Marker,
    };
}
