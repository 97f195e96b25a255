using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowFleet.Fleet.Protocol;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowFleet.Fleet.Registry;

/// <summary>Event log, command audit, numeric telemetry and data rows: queued in memory, written by a background writer.</summary>
public sealed partial class DeviceRegistry
{
    public void LogEvent(string deviceId, string kind, string? component, string? evt, JsonNode? data) =>
        _events.Writer.TryWrite(new DeviceEventRecord
        {
            DeviceId = deviceId, Kind = kind, Component = component, Event = evt, DataJson = data?.ToJsonString(), Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        });

    public void LogCommand(string? user, string deviceId, string method, JsonNode? parameters, bool ok, string? error, double durationMs) =>
        _audit.Writer.TryWrite(new CommandAuditRecord
        {
            User = user, DeviceId = deviceId, Method = method, ParamsJson = parameters?.ToJsonString(), Ok = ok, Error = error, DurationMs = durationMs,
            Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        });

    /// <summary>Numbers sampled from one status report at most.</summary>
    internal const int MaxTelemetryFields = 256;

    /// <summary>Samples the numeric fields of a status delta into telemetry (at most once per <see cref="FleetOptions.TelemetryInterval"/> per device).</summary>
    public void RecordTelemetry(DeviceState d, JsonObject delta, bool force = false)
    {
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
            if (!_telemetry.Writer.TryWrite(new TelemetryRecord { DeviceId = d.Id, Field = field, Ts = now, Value = v }))
            {
                Interlocked.Increment(ref _telemetryDropped);
            }
        }
    }

    /// <summary>Queues one telemetry value (the <c>db write</c> node); false when the queue is full.</summary>
    public bool RecordPoint(string deviceId, string field, double value, long? tsMs = null)
    {
        var ok = _telemetry.Writer.TryWrite(new TelemetryRecord { DeviceId = deviceId, Field = field, Ts = tsMs ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Value = value });
        if (!ok)
        {
            Interlocked.Increment(ref _telemetryDropped);
        }
        return ok;
    }

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

    public async Task<IReadOnlyList<DeviceEventRecord>> EventLogAsync(string deviceId, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Events.AsNoTracking().Where(e => e.DeviceId == deviceId).OrderByDescending(e => e.Id).Take(Math.Clamp(limit, 1, 1000)).ToListAsync(ct);
    }

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

    /// <summary>Adds a row to a named table (the <c>db write</c> node).</summary>
    public async Task<long> InsertRowAsync(string table, JsonNode row, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(table) || table.Length > 64)
        {
            throw new ArgumentException("Table names are 1-64 characters");
        }
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var r = new DataRowRecord { Table = table, Json = row.ToJsonString(), Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        db.DataRows.Add(r);
        await db.SaveChangesAsync(ct);
        return r.Id;
    }

    public async Task<IReadOnlyList<DataRowRecord>> RowsAsync(string table, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.DataRows.AsNoTracking().Where(r => r.Table == table).OrderByDescending(r => r.Id).Take(Math.Clamp(limit, 1, 10_000)).ToListAsync(ct);
    }

    /// <summary>Writes queued telemetry, events and audit records in one transaction; returns how many rows.</summary>
    public async Task<int> WriteQueuedAsync(CancellationToken ct = default)
    {
        var telemetry = Drain(_telemetry.Reader, 50_000);
        var events = Drain(_events.Reader, 10_000);
        var audit = Drain(_audit.Reader, 10_000);
        if (telemetry.Count + events.Count + audit.Count == 0)
        {
            return 0;
        }
        // Once drained, a batch is written whatever the caller's token says (shutdown cancels it mid-write), and a batch
        // that fails goes back to its queues for the next try: nothing drained may be lost.
        try
        {
            return await WriteBatchAsync(telemetry, events, audit);
        }
        catch
        {
            Requeue(_telemetry.Writer, telemetry);
            Requeue(_events.Writer, events);
            Requeue(_audit.Writer, audit);
            throw;
        }
    }

    /// <summary>Deletes telemetry past retention and trims each device's event log.</summary>
    public async Task<int> ApplyRetentionAsync(CancellationToken ct = default)
    {
        var cutoff = DateTimeOffset.UtcNow.Add(-_options.TelemetryRetention).ToUnixTimeMilliseconds();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var deleted = await db.Telemetry.Where(t => t.Ts < cutoff).ExecuteDeleteAsync(ct);
        deleted += await db.Database.ExecuteSqlRawAsync(
            "DELETE FROM \"DeviceEvents\" WHERE \"Id\" IN (SELECT \"Id\" FROM (SELECT \"Id\", ROW_NUMBER() OVER (PARTITION BY \"DeviceId\" ORDER BY \"Id\" DESC) AS n FROM \"DeviceEvents\") AS ranked WHERE n > {0})",
            [_options.EventLogPerDevice], ct);
        return deleted;
    }

    // SQLite compiles a statement once for the whole batch; Npgsql can't prepare parameters that have no value (and type) yet.
    private static Task PrepareAsync(System.Data.Common.DbCommand cmd, CancellationToken ct) =>
        cmd is Microsoft.Data.Sqlite.SqliteCommand ? cmd.PrepareAsync(ct) : Task.CompletedTask;

    private static System.Data.Common.DbParameter Parameter(System.Data.Common.DbCommand cmd, string name)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        cmd.Parameters.Add(p);
        return p;
    }

    private static List<T> Drain<T>(ChannelReader<T> reader, int max)
    {
        var list = new List<T>();
        while (list.Count < max && reader.TryRead(out var item))
        {
            list.Add(item);
        }
        return list;
    }
}
