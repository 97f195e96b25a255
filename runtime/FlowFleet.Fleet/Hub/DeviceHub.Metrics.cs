using System.Diagnostics.Metrics;

namespace FlowFleet.Fleet.Hub;

/// <summary>The hub's instruments: observable ones over the counters the hub keeps anyway, so a device frame costs an
/// <see cref="Interlocked"/> increment and nothing more; a scrape reads them.</summary>
public sealed partial class DeviceHub
{
    /// <summary>The meter of the fleet's instruments (hub and registry).</summary>
    public const string MeterName = "FlowFleet.Fleet";

    private long _sessionsOpened;

    /// <summary>Device sessions opened since start (a reconnect opens a new one).</summary>
    public long SessionsOpened => Interlocked.Read(ref _sessionsOpened);

    /// <summary>Creates the hub's instruments on the <see cref="MeterName"/> meter of <paramref name="meters"/>.</summary>
    public void Publish(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("flowfleet.devices.online", () => OnlineCount, description: "Admitted devices connected now");
        meter.CreateObservableGauge("flowfleet.device.connections", () => ConnectionCount, description: "Identified device connections, admitted or pending");
        meter.CreateObservableCounter("flowfleet.device.sessions", () => SessionsOpened, description: "Device sessions opened (each connection that identified itself)");
        meter.CreateObservableCounter("flowfleet.device.notifications", () => EventsProcessed, description: "Notifications (status, events) received from devices");
        meter.CreateObservableCounter("flowfleet.device.frames.rejected", () => FramesRejected, description: "Device frames refused as malformed or over a limit");
        meter.CreateObservableCounter("flowfleet.device.connections.refused", () => ConnectionsRefused, description: "Device connections refused (connection budget, impostors)");
        meter.CreateObservableCounter("flowfleet.device.status.over_limits", () => StatusOverLimits, description: "Status reports over a device's status limits");
        meter.CreateObservableCounter("flowfleet.device.connections.idle_closed", () => IdleConnectionsClosed, description: "Connections closed before they sent a whole request head");
    }
}
