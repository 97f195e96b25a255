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

/// <summary>What devices reported and what was done to them: telemetry, event log, command audit, data tables, fleet statistics.</summary>
public static class DataApi
{
    public static void MapDataApi(this IEndpointRouteBuilder app)
    {
        var (read, control) = FleetApi.Groups(app);
        read.MapGet("/devices/{id}/telemetry", async (string id, string? field, long? from, long? to, long? bucket, IDeviceStore devices, ITelemetryStore telemetry, CancellationToken ct) =>
        {
            if (devices.Get(id) is null)
            {
                return NotFound(id);
            }
            if (string.IsNullOrEmpty(field))
            {
                return Results.Json(new { fields = await telemetry.TelemetryFieldsAsync(id, ct) });
            }
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var t0 = from ?? now - 24 * 3600_000;
            var t1 = to ?? now;
            var points = await telemetry.TelemetryAsync(id, field, t0, t1, (bucket ?? 60) * 1000, ct);
            return Results.Json(new { id, field, from = t0, to = t1, bucket = bucket ?? 60, points = points.Select(p => new { ts = p.Ts, avg = p.Avg, min = p.Min, max = p.Max, last = p.Last, count = p.Count }) });
        }).WithName("GetTelemetry");

        read.MapGet("/devices/{id}/events", async (string id, int? limit, IEventLog eventLog, CancellationToken ct) =>
            Results.Json((await eventLog.EventLogAsync(id, limit ?? 100, ct)).Select(e => new { ts = e.Ts, kind = e.Kind, component = e.Component, @event = e.Event, data = e.DataJson is null ? null : JsonNode.Parse(e.DataJson) })))
            .WithName("GetDeviceEvents");

        read.MapGet("/audit", async (string? device, int? limit, IAuditLog audit, IDeviceStore devices, IGroupStore groups, ClaimsPrincipal user, CancellationToken ct) =>
            Results.Json((await audit.AuditLogAsync(device, limit ?? 100, ct)).Where(a => !DeviceAccess.For(user).Limited || (a.DeviceId is { } d && DeviceAccess.For(user).CanSee(groups, d))).Select(a => new { ts = a.Ts, user = a.User, device = a.DeviceId, method = a.Method, @params = a.ParamsJson is null ? null : JsonNode.Parse(a.ParamsJson), ok = a.Ok, error = a.Error, durationMs = a.DurationMs })))
            .WithName("GetAudit");

        read.MapGet("/tables/{table}", async (string table, int? limit, IDataTableStore tables, CancellationToken ct) =>
            Results.Json((await tables.RowsAsync(table, limit ?? 100, ct)).Select(r => new { id = r.Id, ts = r.Ts, row = JsonNode.Parse(r.Json) })))
            .WithName("GetTableRows");

        read.MapGet("/fleet/stats", (DeviceHub hub, IDeviceStore devices, ITelemetryStore telemetry) => Results.Json(new
        {
            devices = devices.Count, online = hub.OnlineCount, connections = hub.ConnectionCount, eventsProcessed = hub.EventsProcessed,
            framesRejected = hub.FramesRejected, connectionsRefused = hub.ConnectionsRefused, directConnections = hub.DirectConnections, telemetryDropped = telemetry.Dropped,
            pending = devices.All.Count(d => d.Admission == AdmissionStates.Pending),
        })).WithName("FleetStats");
    }
}
