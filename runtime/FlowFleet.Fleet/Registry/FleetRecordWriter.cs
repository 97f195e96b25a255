using System.Diagnostics.Metrics;
using System.Threading.Channels;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// The background writer's queues: <see cref="ITelemetryStore"/>, <see cref="IEventLog"/> and <see cref="IAuditLog"/> queue
/// their records here without waiting for the database; <see cref="FleetService"/> writes them in one transaction per batch,
/// in plain SQL (<see cref="FleetSql"/>). Bounded: a flood drops (and counts) records instead of growing memory.
/// </summary>
public sealed class FleetRecordWriter(FleetSql sql)
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

    private static readonly SqlInsert s_telemetryInsert = new("Telemetry", "DeviceId", "Field", "Ts", "Value");
    private static readonly SqlInsert s_eventInsert = new("DeviceEvents", "DeviceId", "Ts", "Kind", "Component", "Event", "DataJson");
    private static readonly SqlInsert s_auditInsert = new("CommandAudit", "Ts", "User", "DeviceId", "Method", "ParamsJson", "Ok", "Error", "DurationMs");

    private async Task<int> WriteBatchAsync(List<TelemetryRecord> telemetry, List<DeviceEventRecord> events, List<CommandAuditRecord> audit)
    {
        var ct = CancellationToken.None;
        await using var c = await sql.OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        await InsertAsync(c, tx, s_telemetryInsert, telemetry, static (t, v) => (v[0], v[1], v[2], v[3]) = (t.DeviceId, t.Field, t.Ts, t.Value)).ConfigureAwait(false);
        await InsertAsync(c, tx, s_eventInsert, events,
            static (e, v) => (v[0], v[1], v[2], v[3], v[4], v[5]) = (e.DeviceId, e.Ts, e.Kind, e.Component, e.Event, e.DataJson)).ConfigureAwait(false);
        await InsertAsync(c, tx, s_auditInsert, audit,
            static (a, v) => (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]) = (a.Ts, a.User, a.DeviceId, a.Method, a.ParamsJson, a.Ok, a.Error, a.DurationMs)).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        Interlocked.Add(ref _written[0], telemetry.Count);
        Interlocked.Add(ref _written[1], events.Count);
        Interlocked.Add(ref _written[2], audit.Count);
        return telemetry.Count + events.Count + audit.Count;
    }

    private static Task<int> InsertAsync<T>(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction tx, SqlInsert insert, List<T> rows, Action<T, object?[]> bind) =>
        rows.Count == 0 ? Task.FromResult(0) : SqlCommands.ExecuteEachAsync(c, tx, insert.Sql, insert.Parameters, rows, bind, CancellationToken.None);

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
