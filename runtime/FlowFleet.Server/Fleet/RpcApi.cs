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

/// <summary>RPC to one device or many (ids, group:NAME, tag:NAME, *), with per-device results.</summary>
public static class RpcApi
{
    public sealed record RpcRequest(string? Method, JsonNode? Params, double? Timeout);

    public sealed record ManyRpcRequest(string[]? Targets, string? Method, JsonNode? Params, double? Timeout);

    public static void MapRpcApi(this IEndpointRouteBuilder app)
    {
        var (read, control) = FleetApi.Groups(app);
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

        control.MapPost("/rpc", async ([FromBody] ManyRpcRequest body, DeviceHub hub, IDeviceStore devices, IGroupStore groups, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(body.Method) || body.Targets is not { Length: > 0 })
            {
                return RedErrors.BadRequest("method and targets (device ids, group:NAME, tag:NAME or *) are required");
            }
            var ids = DeviceAccess.For(user).Filter(groups, body.Targets.SelectMany(devices.Resolve).Distinct(StringComparer.Ordinal));
            var results = await FleetRpc.CallManyAsync(hub, ids, body.Method, body.Params, Timeout(body.Timeout), user.Identity?.Name, ct: ct);
            return Results.Json(new JsonObject
            {
                ["total"] = results.Count, ["ok"] = results.Count(r => r.Ok), ["failed"] = results.Count(r => !r.Ok),
                ["results"] = new JsonArray(results.Select(r => (JsonNode?)r.ToJson()).ToArray()),
            });
        }).WithName("CallMany");
    }
}
