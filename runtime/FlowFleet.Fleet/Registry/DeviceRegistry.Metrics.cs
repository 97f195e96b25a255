using System.Diagnostics.Metrics;

namespace FlowFleet.Fleet.Registry;

/// <summary>The registry writer's instruments: rows written and waiting per kind, telemetry dropped, devices known.</summary>
public sealed partial class DeviceRegistry
{
    private readonly long[] _written = new long[3];

    /// <summary>Telemetry values written to the database since start.</summary>
    public long TelemetryWritten => Interlocked.Read(ref _written[0]);

    /// <summary>Device events written to the database since start.</summary>
    public long EventsWritten => Interlocked.Read(ref _written[1]);

    /// <summary>Command audit records written to the database since start.</summary>
    public long AuditWritten => Interlocked.Read(ref _written[2]);

    private void CountWritten(int telemetry, int events, int audit)
    {
        Interlocked.Add(ref _written[0], telemetry);
        Interlocked.Add(ref _written[1], events);
        Interlocked.Add(ref _written[2], audit);
    }

    /// <summary>Creates the registry's instruments on the fleet meter (<see cref="Hub.DeviceHub.MeterName"/>) of <paramref name="meters"/>.</summary>
    public void Publish(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(Hub.DeviceHub.MeterName);
        meter.CreateObservableGauge("flowfleet.devices", () => Count, description: "Devices in the registry");
        meter.CreateObservableGauge("flowfleet.devices.pending", () => All.Count(d => d.Admission == AdmissionStates.Pending), description: "Devices waiting for admission");
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
}
