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

/// <summary>Devices: list, pending, details, desired state, removal, adoption by address.</summary>
public static class DevicesApi
{
    public sealed record DevicePatch(string? Name, string[]? Tags);

    public sealed record AdoptRequest(string? Address, string? Password);

    public static void MapDevicesApi(this IEndpointRouteBuilder app)
    {
        var (read, control) = FleetApi.Groups(app);
        read.MapGet("/devices", (IDeviceStore devices, IGroupStore groups, ClaimsPrincipal user, string? search, string? model, string? group, string? tag, bool? online, string? admission, string? sort, int? offset, int? limit) =>
        {
            var (items, total) = devices.Query(new DeviceQuery
            {
                Search = search, Model = model, Group = group, Tag = tag, Online = online, Admission = admission, Sort = sort ?? "name", Offset = offset ?? 0, Limit = limit ?? 100,
                Within = DeviceAccess.For(user).Devices(groups),
            });
            return Results.Json(new JsonObject { ["items"] = new JsonArray(items.Select(d => (JsonNode?)d.Summary(groups.GroupsOf(d.Id))).ToArray()), ["total"] = total });
        }).WithName("ListDevices");

        read.MapGet("/devices/pending", (IDeviceStore devices, IGroupStore groups, DeviceHub hub, ClaimsPrincipal user) =>
        {
            var access = DeviceAccess.For(user);
            var (items, total) = devices.Query(new DeviceQuery { Admission = AdmissionStates.Pending, Limit = 10_000, Sort = "-lastSeen", Within = access.Devices(groups) });
            // Connections claiming an accepted device's id without proof wait here too, apart from the devices (issue 13).
            var claims = access.Limited ? [] : hub.Claims;
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray(items.Select(d => (JsonNode?)d.Summary([])).ToArray()), ["total"] = total,
                ["claims"] = new JsonArray(claims.Select(c => (JsonNode?)ClaimJson(c)).ToArray()),
            });
        }).WithName("ListPendingDevices");

        read.MapGet("/devices/{id}", (string id, IDeviceStore devices, IGroupStore groups, DeviceHub hub) =>
        {
            var d = devices.Get(id);
            if (d is null)
            {
                return NotFound(id);
            }
            var o = d.Details(groups.GroupsOf(id));
            if (hub.Session(id) is { } s)
            {
                o["connectedAt"] = s.ConnectedAt.ToString("O");
                o["framesIn"] = s.FramesIn;
                o["framesOut"] = s.FramesOut;
            }
            return Results.Json(o);
        }).WithName("GetDevice");

        control.MapPatch("/devices/{id}", async (string id, [FromBody] DevicePatch body, IDeviceStore devices, IGroupStore groups, CancellationToken ct) =>
        {
            if (devices.Get(id) is null)
            {
                return NotFound(id);
            }
            if (body.Name is not null)
            {
                await devices.SetNameAsync(id, body.Name.Length == 0 ? null : body.Name, ct);
            }
            if (body.Tags is not null)
            {
                await devices.SetTagsAsync(id, body.Tags, ct);
            }
            return Results.Json(devices.Get(id)!.Summary(groups.GroupsOf(id)));
        }).WithName("UpdateDevice");

        control.MapDelete("/devices/{id}", async (string id, IDeviceStore devices, CancellationToken ct) =>
        {
            if (devices.Get(id) is null)
            {
                return NotFound(id);
            }
            await devices.RemoveAsync(id, ct);
            return Results.NoContent();
        }).WithName("DeleteDevice");

        read.MapGet("/devices/{id}/desired", (string id, IDeviceStore devices) =>
        {
            var d = devices.Get(id);
            if (d is null)
            {
                return NotFound(id);
            }
            lock (d.Gate)
            {
                return Results.Json(new JsonObject { ["desired"] = d.Desired?.DeepClone(), ["reported"] = d.Status, ["config"] = d.Config });
            }
        }).WithName("GetDesired");

        control.MapPut("/devices/{id}/desired", async (string id, [FromBody] JsonObject? desired, IDeviceStore devices, DeviceHub hub, CancellationToken ct) =>
        {
            if (devices.Get(id) is null)
            {
                return NotFound(id);
            }
            await devices.SetDesiredAsync(id, desired, ct);
            var applied = await hub.ApplyDesiredAsync(id, ct);
            return Results.Json(new JsonObject { ["desired"] = desired?.DeepClone(), ["online"] = hub.IsOnline(id), ["applied"] = new JsonArray(applied.Select(a => (JsonNode?)a).ToArray()) });
        }).WithName("SetDesired");

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
        }).WithName("AdoptDevice").ReachesAllDevices();
    }
}
