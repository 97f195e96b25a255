using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// The background writer's queues: <see cref="ITelemetryStore"/>, <see cref="IEventLog"/> and <see cref="IAuditLog"/> queue
/// their records here without waiting for the database; <see cref="FleetService"/> writes them in one transaction per batch.
/// Bounded: a flood drops (and counts) records instead of growing memory.
/// </summary>
public sealed class FleetRecordWriter(IDbContextFactory<FleetDbContext> dbFactory)
{
    private readonly Channel<TelemetryRecord> _telemetry = Channel.CreateBounded<TelemetryRecord>(new BoundedChannelOptions(200_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Channel<DeviceEventRecord> _events = Channel.CreateBounded<DeviceEventRecord>(new BoundedChannelOptions(50_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Channel<CommandAuditRecord> _audit = Channel.CreateBounded<CommandAuditRecord>(new BoundedChannelOptions(50_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly long[] _written = new long[3];
    private long _telemetryDropped;

    /// <summary>Telemetry values dropped because the queue was full.</summary>
    public long TelemetryDropped => Interlocked.Read(ref _telemetryDropped);

    /// <summary>Telemetry values written to the database since start.</summary>
    public long TelemetryWritten => Interlocked.Read(ref _written[0]);

    /// <summary>Device events written to the database since start.</summary>
    public long EventsWritten => Interlocked.Read(ref _written[1]);

    /// <summary>Command audit records written to the database since start.</summary>
    public long AuditWritten => Interlocked.Read(ref _written[2]);

    internal bool Queue(TelemetryRecord record)
    {
        var ok = _telemetry.Writer.TryWrite(record);
        if (!ok)
        {
            Interlocked.Increment(ref _telemetryDropped);
        }
        return ok;
    }

    internal void Queue(DeviceEventRecord record) => _events.Writer.TryWrite(record);

    internal void Queue(CommandAuditRecord record) => _audit.Writer.TryWrite(record);

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

    /// <summary>Creates the writer's instruments on the fleet meter (<see cref="Hub.DeviceHub.MeterName"/>) of <paramref name="meters"/>.</summary>
    public void Publish(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(Hub.DeviceHub.MeterName);
        meter.CreateObservableCounter("flowfleet.registry.rows.written", () => new Measurement<long>[]
        {
            new(TelemetryWritten, Kind("telemetry")), new(EventsWritten, Kind("events")), new(AuditWritten, Kind("audit")),
        }, description: "Rows the background writer stored, per kind");
        meter.CreateObservableGauge("flowfleet.registry.rows.queued", () => new Measurement<long>[]
        {
            new(_telemetry.Reader.Count, Kind("telemetry")), new(_events.Reader.Count, Kind("events")), new(_audit.Reader.Count, Kind("audit")),
        }, description: "Rows waiting for the background writer, per kind");
        meter.CreateObservableCounter("flowfleet.telemetry.dropped", () => TelemetryDropped, description: "Telemetry values dropped because the write queue was full");
    }

    private static KeyValuePair<string, object?> Kind(string kind) => new("kind", kind);

    private async Task<int> WriteBatchAsync(List<TelemetryRecord> telemetry, List<DeviceEventRecord> events, List<CommandAuditRecord> audit)
    {
        var ct = CancellationToken.None;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.Database.OpenConnectionAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (telemetry.Count > 0)
        {
            await using var cmd = db.Database.GetDbConnection().CreateCommand();
            cmd.CommandText = "INSERT INTO \"Telemetry\" (\"DeviceId\", \"Field\", \"Ts\", \"Value\") VALUES (@d, @f, @t, @v)";
            var pd = SqlCommands.Parameter(cmd, "@d");
            var pf = SqlCommands.Parameter(cmd, "@f");
            var pt = SqlCommands.Parameter(cmd, "@t");
            var pv = SqlCommands.Parameter(cmd, "@v");
            cmd.Transaction = tx.GetDbTransaction();
            await SqlCommands.PrepareAsync(cmd, ct);
            foreach (var t in telemetry)
            {
                pd.Value = t.DeviceId;
                pf.Value = t.Field;
                pt.Value = t.Ts;
                pv.Value = t.Value;
                await cmd.ExecuteNonQueryAsync(ct);
            }
        }
        db.Events.AddRange(events);
        db.Audit.AddRange(audit);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        Interlocked.Add(ref _written[0], telemetry.Count);
        Interlocked.Add(ref _written[1], events.Count);
        Interlocked.Add(ref _written[2], audit.Count);
        return telemetry.Count + events.Count + audit.Count;
    }

    private static void Requeue<T>(ChannelWriter<T> writer, List<T> items)
    {
        foreach (var item in items)
        {
            writer.TryWrite(item);
        }
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
