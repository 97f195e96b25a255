using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;

namespace FlowFleet.Fleet.Registry;

/// <summary>The command audit in the fleet database's <c>CommandAudit</c> table, written in batches by <see cref="FleetRecordWriter"/>.</summary>
public sealed class AuditLog(IDbContextFactory<FleetDbContext> dbFactory, FleetRecordWriter writer) : IAuditLog
{
    public void LogCommand(string? user, string deviceId, string method, JsonNode? parameters, bool ok, string? error, double durationMs) =>
        writer.Queue(new CommandAuditRecord
        {
            User = user, DeviceId = deviceId, Method = method, ParamsJson = parameters?.ToJsonString(), Ok = ok, Error = error, DurationMs = durationMs,
            Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        });

    public async Task<IReadOnlyList<CommandAuditRecord>> AuditLogAsync(string? deviceId, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = db.Audit.AsNoTracking();
        if (deviceId is not null)
        {
            q = q.Where(a => a.DeviceId == deviceId);
        }
        return await q.OrderByDescending(a => a.Id).Take(Math.Clamp(limit, 1, 1000)).ToListAsync(ct);
    }
}
