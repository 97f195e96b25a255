using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

/// <summary>Each device's event log: connects, disconnects, admission, claims and the events devices send.</summary>
public interface IEventLog
{
    /// <summary>Queues an entry for the background writer (dropped when the queue is full).</summary>
    void LogEvent(string deviceId, string kind, string? component, string? evt, JsonNode? data);

    /// <summary>The device's newest entries first, at most <paramref name="limit"/> (1-1000).</summary>
    Task<IReadOnlyList<DeviceEventRecord>> EventLogAsync(string deviceId, int limit, CancellationToken ct = default);

    /// <summary>Keeps each device's newest <see cref="FleetOptions.EventLogPerDevice"/> entries; returns how many were deleted.</summary>
    Task<int> TrimAsync(CancellationToken ct = default);
}
