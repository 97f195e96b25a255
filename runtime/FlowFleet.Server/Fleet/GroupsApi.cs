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
        read.MapGet("/groups", (IGroupStore groups, ClaimsPrincipal user) =>
            Results.Json(DeviceAccess.For(user).GroupNames(groups).Select(g => new { name = g, devices = groups.Members(g) }))).WithName("ListGroups");

        control.MapPost("/groups", async ([FromBody] GroupRequest body, IGroupStore groups, CancellationToken ct) =>
        {
            try
            {
                await groups.CreateGroupAsync(body.Name ?? "", body.Description, ct);
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

        control.MapDelete("/groups/{name}", async (string name, IGroupStore groups, CancellationToken ct) =>
        {
            try
            {
                await groups.DeleteGroupAsync(name, ct);
                return Results.NoContent();
            }
            catch (KeyNotFoundException ex)
            {
                return RedErrors.Json(404, "not_found", ex.Message);
            }
        }).WithName("DeleteGroup").ReachesAllDevices();

        control.MapPut("/groups/{name}/devices/{id}", (string name, string id, IDeviceStore devices, IGroupStore groups, CancellationToken ct) => Membership(devices, groups, name, id, true, ct)).WithName("AddToGroup").ReachesAllDevices();

        control.MapDelete("/groups/{name}/devices/{id}", (string name, string id, IDeviceStore devices, IGroupStore groups, CancellationToken ct) => Membership(devices, groups, name, id, false, ct)).WithName("RemoveFromGroup").ReachesAllDevices();
    }

    private static async Task<IResult> Membership(IDeviceStore devices, IGroupStore groups, string name, string id, bool member, CancellationToken ct)
    {
        if (groups.Exists(name) && devices.Get(id) is null)
        {
            return RedErrors.Json(404, "not_found", $"No device '{id}'");
        }
        try
        {
            await groups.SetMembershipAsync(name, id, member, ct);
            return Results.Json(new { name, devices = groups.Members(name) });
        }
        catch (KeyNotFoundException ex)
        {
            return RedErrors.Json(404, "not_found", ex.Message);
        }
    }
}
