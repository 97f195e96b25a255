using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using FlowFleet.Server.Auth;
using FlowFleet.Server.Red;

namespace FlowFleet.Server.Fleet;

/// <summary>
/// REST for the fleet under <c>/api</c>, one endpoint group per resource: <see cref="DevicesApi"/>, <see cref="AdmissionApi"/>,
/// <see cref="RpcApi"/>, <see cref="GroupsApi"/>, <see cref="DataApi"/>. This class maps them and holds what they share:
/// the <c>/api</c> group with its access filter, and the error bodies.
/// </summary>
public static class FleetApi
{
    public static void MapFleetApi(this IEndpointRouteBuilder app)
    {
        app.MapDevicesApi();
        app.MapRpcApi();
        app.MapAdmissionApi();
        app.MapDataApi();
        app.MapGroupsApi();
    }

    /// <summary>
    /// A resource's <c>/api</c> group: read endpoints need <see cref="Policies.DevicesRead"/>, control endpoints
    /// <see cref="Policies.DevicesControl"/>; both pass the limited-user filter.
    /// </summary>
    internal static (RouteGroupBuilder Read, RouteGroupBuilder Control) Groups(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("fleet");
        api.AddEndpointFilter(LimitToUsersGroups);
        return (api.MapGroup("").RequireAuthorization(Policies.DevicesRead), api.MapGroup("").RequireAuthorization(Policies.DevicesControl));
    }

    /// <summary>Marks an endpoint a user limited to some device groups may not use: it reaches beyond the user's groups.</summary>
    internal static RouteHandlerBuilder ReachesAllDevices(this RouteHandlerBuilder endpoint) => endpoint.WithMetadata(AllDevices.Instance);

    private sealed class AllDevices
    {
        public static readonly AllDevices Instance = new();
    }

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
        var groups = http.RequestServices.GetRequiredService<IGroupStore>();
        if (http.GetRouteValue("id") is string id && !access.CanSee(groups, id))
        {
            return NotFound(id);
        }
        if (http.GetEndpoint()?.Metadata.GetMetadata<AllDevices>() is not null)
        {
            return RedErrors.Json(403, "forbidden", "Your account is limited to some device groups; this needs access to all devices");
        }
        return await next(ctx);
    }

    /// <summary>The URL devices use to reach this server's <c>/shelly</c>, with an enrollment token if given.</summary>
    public static string DeviceUrl(HttpContext ctx, string? token)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var scheme = ctx.Request.IsHttps ? "wss" : "ws";
        return $"{scheme}://{ctx.Request.Host}/shelly" + (token is null ? "" : "?token=" + token);
    }

    internal static TimeSpan? Timeout(double? seconds) => seconds is > 0 ? TimeSpan.FromSeconds(Math.Min(seconds.Value, 300)) : null;

    internal static IResult NotFound(string id) => RedErrors.Json(404, "not_found", $"Device {id} not found");

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

    internal static JsonObject ClaimJson(DeviceClaim c) => new()
    {
        ["key"] = c.Key, ["id"] = c.Id, ["remote"] = c.Remote, ["at"] = c.At.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ["withToken"] = c.WithToken, ["model"] = c.Model, ["app"] = c.App, ["firmware"] = c.Firmware, ["mac"] = c.Mac, ["note"] = DeviceClaim.Marker,
        // In a cluster: the instance holding the claiming connection, when it is another one.
        ["instance"] = c.Instance,
    };
}
