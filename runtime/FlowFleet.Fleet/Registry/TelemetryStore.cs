using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FlowFleet.Fleet.Registry;

/// <summary>Telemetry in the fleet database's <c>Telemetry</c> table, written in batches by <see cref="FleetRecordWriter"/>.</summary>
public sealed class TelemetryStore(IDbContextFactory<FleetDbContext> dbFactory, FleetSql sql, FleetRecordWriter writer, IOptions<FleetOptions> options) : ITelemetryStore
{
    /// <summary>Numbers sampled from one status report at most.</summary>
    internal const int MaxTelemetryFields = 256;

    private readonly FleetOptions _options = options.Value;

    public long Dropped => writer.TelemetryDropped;

    public void RecordTelemetry(DeviceState d, JsonObject delta, bool force = false)
    {
        ArgumentNullException.ThrowIfNull(d);
        ArgumentNullException.ThrowIfNull(delta);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (!force && now - d.LastTelemetryMs < _options.TelemetryInterval.TotalMilliseconds)
        {
            return;
        }
        d.LastTelemetryMs = now;
        var fields = new List<KeyValuePair<string, double>>();
        foreach (var (key, value) in delta)
        {
            if (value is JsonObject o && key is not ("sys" or "cloud" or "mqtt" or "ws" or "ble" or "ts"))
            {
                ShellyFrames.FlattenNumbers(o, key, fields);
            }
        }
        if (fields.Count > MaxTelemetryFields)
        {
            // Real devices report a few dozen numbers; more is noise that would crowd out other devices' samples.
            fields.RemoveRange(MaxTelemetryFields, fields.Count - MaxTelemetryFields);
        }
        foreach (var (field, v) in fields)
        {
            writer.Queue(new TelemetryRecord { DeviceId = d.Id, Field = field, Ts = now, Value = v });
        }
    }

    public bool RecordPoint(string deviceId, string field, double value, long? tsMs = null) =>
        writer.Queue(new TelemetryRecord { DeviceId = deviceId, Field = field, Ts = tsMs ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Value = value });

    public async Task<IReadOnlyList<TelemetryPoint>> TelemetryAsync(string deviceId, string field, long fromMs, long toMs, long bucketMs, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Telemetry.AsNoTracking().Where(t => t.DeviceId == deviceId && t.Field == field && t.Ts >= fromMs && t.Ts <= toMs)
            .OrderBy(t => t.Ts).Select(t => new { t.Ts, t.Value }).ToListAsync(ct);
        bucketMs = Math.Max(1, bucketMs);
        return rows.GroupBy(r => r.Ts / bucketMs * bucketMs)
            .Select(g => new TelemetryPoint(g.Key, g.Average(x => x.Value), g.Min(x => x.Value), g.Max(x => x.Value), g.Last().Value, g.Count()))
            .ToList();
    }

    public async Task<IReadOnlyList<string>> TelemetryFieldsAsync(string deviceId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Telemetry.AsNoTracking().Where(t => t.DeviceId == deviceId).Select(t => t.Field).Distinct().OrderBy(f => f).ToListAsync(ct);
    }

    /// <summary>Rows the retention deletes per statement.</summary>
    internal int RetentionBatch { get; set; } = 5_000;

    /// <summary>Awaited between two of the retention's batches, when no write lock is held (tests look at the database then).</summary>
    internal Func<Task>? BetweenRetentionBatches { get; set; }

    public async Task<int> ApplyRetentionAsync(CancellationToken ct = default)
    {
        var cutoff = DateTimeOffset.UtcNow.Add(-_options.TelemetryRetention).ToUnixTimeMilliseconds();
        // Plain SQL: the retention runs a second after start, and EF Core would be loaded for it alone. In batches, each its
        // own statement: one DELETE of a large fleet's hour of telemetry (millions of rows) held SQLite's one write lock for
        // as long as it ran, and the record writer's inserts waited behind it until their busy timeout failed them.
        // One connection for all batches: outside a transaction each DELETE commits (and lets go of the lock) on its own.
        var deleted = 0;
        await using var c = await sql.OpenAsync(ct).ConfigureAwait(false);
        while (true)
        {
            var batch = await SqlCommands.ExecuteAsync(c, null,
                "DELETE FROM \"Telemetry\" WHERE \"Id\" IN (SELECT \"Id\" FROM \"Telemetry\" WHERE \"Ts\" < @p ORDER BY \"Ts\" LIMIT @n)",
                ct, ("@p", cutoff), ("@n", RetentionBatch)).ConfigureAwait(false);
            deleted += batch;
            if (batch < RetentionBatch)
            {
                return deleted;
            }
            if (BetweenRetentionBatches is { } between)
            {
                await between().ConfigureAwait(false);
            }
            else
            {
                await Task.Yield();
            }
        }
    }
}
