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

/// <summary>Device groups and their members.</summary>
public static class GroupsApi
{
    public sealed record GroupRequest(string? Name, string? Description);

    public static void MapGroupsApi(this IEndpointRouteBuilder app)
    {
        var (read, control) = FleetApi.Groups(app);
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
        }).WithName("CreateGroup").ReachesAllDevices();

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
        }).WithName("DeleteGroup").ReachesAllDevices();

        control.MapPut("/groups/{name}/devices/{id}", (string name, string id, DeviceRegistry registry, CancellationToken ct) => Membership(registry, name, id, true, ct)).WithName("AddToGroup").ReachesAllDevices();

        control.MapDelete("/groups/{name}/devices/{id}", (string name, string id, DeviceRegistry registry, CancellationToken ct) => Membership(registry, name, id, false, ct)).WithName("RemoveFromGroup").ReachesAllDevices();
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
}
