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
public static partial class FleetApi
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
        MapDevices(read, control);
        MapRpc(read, control);
        MapAdmission(read, control);
        MapData(read, control);
        MapGroups(read, control);
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
