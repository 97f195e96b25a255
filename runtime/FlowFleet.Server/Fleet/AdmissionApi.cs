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
using static FlowFleet.Server.Fleet.FleetApi;

namespace FlowFleet.Server.Fleet;

/// <summary>Admission: accepting and denying devices and id claims, enrollment tokens.</summary>
public static class AdmissionApi
{
    public sealed record TokenRequest(string? Name);

    /// <summary>
    /// In a cluster a decision is made by the instance holding the connection: when it does not confirm in time, the answer
    /// says so (503) instead of failing with a server error.
    /// </summary>
    private static async Task<IResult> Decided(Func<Task<IResult>> decide)
    {
        try
        {
            return await decide();
        }
        catch (InvalidOperationException ex) when (ex.InnerException is NATS.Client.Core.NatsException)
        {
            return RedErrors.Json(503, "unavailable", ex.Message);
        }
    }

    public static void MapAdmissionApi(this IEndpointRouteBuilder app)
    {
        var (read, control) = FleetApi.Groups(app);
        control.MapPost("/devices/claims/{key}/accept", (string key, DeviceHub hub, ClaimsPrincipal user) => Decided(async () =>
            !DeviceAccess.For(user).Limited && await hub.AcceptClaimAsync(key) ? Results.NoContent() : RedErrors.Json(404, "not_found", $"No claim '{key}' is waiting")))
            .WithName("AcceptDeviceClaim");

        control.MapPost("/devices/claims/{key}/deny", (string key, DeviceHub hub, ClaimsPrincipal user) => Decided(async () =>
            !DeviceAccess.For(user).Limited && await hub.DenyClaimAsync(key) ? Results.NoContent() : RedErrors.Json(404, "not_found", $"No claim '{key}' is waiting")))
            .WithName("DenyDeviceClaim");

        control.MapPost("/devices/{id}/accept", (string id, DeviceHub hub, IDeviceStore devices, IGroupStore groups, CancellationToken ct) => Decided(async () =>
        {
            if (devices.Get(id) is null)
            {
                return NotFound(id);
            }
            await hub.AcceptAsync(id, ct);
            return Results.Json(devices.Get(id)!.Summary(groups.GroupsOf(id)));
        })).WithName("AcceptDevice");

        control.MapPost("/devices/{id}/deny", (string id, DeviceHub hub, IDeviceStore devices, IGroupStore groups, CancellationToken ct) => Decided(async () =>
        {
            if (devices.Get(id) is null)
            {
                return NotFound(id);
            }
            await hub.DenyAsync(id, ct);
            return Results.Json(devices.Get(id)!.Summary(groups.GroupsOf(id)));
        })).WithName("DenyDevice");

        control.MapGet("/enrollment-tokens", async (IEnrollmentTokenStore tokens, HttpContext ctx, CancellationToken ct) =>
            Results.Json((await tokens.TokensAsync(ct)).Select(t => new { token = t.Token, name = t.Name, createdAt = t.CreatedAt, revoked = t.Revoked, uses = t.Uses, url = DeviceUrl(ctx, t.Token) })))
            .WithName("ListEnrollmentTokens").ReachesAllDevices();

        control.MapPost("/enrollment-tokens", async ([FromBody] TokenRequest body, IEnrollmentTokenStore tokens, HttpContext ctx, CancellationToken ct) =>
        {
            var t = await tokens.CreateTokenAsync(body.Name, ct);
            return Results.Json(new { token = t.Token, name = t.Name, createdAt = t.CreatedAt, revoked = false, uses = 0, url = DeviceUrl(ctx, t.Token) });
        }).WithName("CreateEnrollmentToken").ReachesAllDevices();

        control.MapDelete("/enrollment-tokens/{token}", async (string token, IEnrollmentTokenStore tokens, CancellationToken ct) =>
            await tokens.RevokeTokenAsync(token, ct) ? Results.NoContent() : RedErrors.Json(404, "not_found", "No such token")).WithName("RevokeEnrollmentToken").ReachesAllDevices();
    }
}
