using System.Diagnostics.Metrics;

namespace FlowFleet.Fleet.Registry;

/// <summary>The registry's instruments: devices known and waiting (the writer's rows are <see cref="FleetRecordWriter.Publish"/>).</summary>
public sealed partial class DeviceStore
{
    /// <summary>Creates the registry's instruments on the fleet meter (<see cref="Hub.DeviceHub.MeterName"/>) of <paramref name="meters"/>.</summary>
    public void Publish(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(Hub.DeviceHub.MeterName);
        meter.CreateObservableGauge("flowfleet.devices", () => Count, description: "Devices in the registry");
        meter.CreateObservableGauge("flowfleet.devices.pending", () => All.Count(d => d.Admission == AdmissionStates.Pending), description: "Devices waiting for admission");
    }
}
