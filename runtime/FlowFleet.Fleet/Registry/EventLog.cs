using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FlowFleet.Fleet.Registry;

/// <summary>The event log in the fleet database's <c>DeviceEvents</c> table, written in batches by <see cref="FleetRecordWriter"/>.</summary>
public sealed class EventLog(IDbContextFactory<FleetDbContext> dbFactory, FleetSql sql, FleetRecordWriter writer, IOptions<FleetOptions> options) : IEventLog
{
    public void LogEvent(string deviceId, string kind, string? component, string? evt, JsonNode? data) =>
        writer.Queue(new DeviceEventRecord
        {
            DeviceId = deviceId, Kind = kind, Component = component, Event = evt, DataJson = data?.ToJsonString(), Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        });

    public async Task<IReadOnlyList<DeviceEventRecord>> EventLogAsync(string deviceId, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Events.AsNoTracking().Where(e => e.DeviceId == deviceId).OrderByDescending(e => e.Id).Take(Math.Clamp(limit, 1, 1000)).ToListAsync(ct);
    }

    private const string Trim =
        "DELETE FROM \"DeviceEvents\" WHERE \"Id\" IN (SELECT \"Id\" FROM (SELECT \"Id\", ROW_NUMBER() OVER (PARTITION BY \"DeviceId\" ORDER BY \"Id\" DESC) AS n FROM \"DeviceEvents\") AS ranked WHERE n > @p)";

    public async Task<int> TrimAsync(CancellationToken ct = default)
    {
        // Plain SQL, as the telemetry retention: EF Core is not loaded for the hourly trim alone.
        await using var c = await sql.OpenAsync(ct).ConfigureAwait(false);
        return await SqlCommands.ExecuteAsync(c, null, Trim, ct, ("@p", options.Value.EventLogPerDevice)).ConfigureAwait(false);
    }
}
