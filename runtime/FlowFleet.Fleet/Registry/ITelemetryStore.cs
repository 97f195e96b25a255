using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

/// <summary>One bucket of a telemetry series.</summary>
public sealed record TelemetryPoint(long Ts, double Avg, double Min, double Max, double Last, int Count);

/// <summary>
/// Numeric telemetry: values sampled from devices' status reports or written by flows, queued for the background writer,
/// read back as bucketed series, deleted past <see cref="FleetOptions.TelemetryRetention"/>.
/// </summary>
public interface ITelemetryStore
{
    /// <summary>Values dropped because the write queue was full.</summary>
    long Dropped { get; }

    /// <summary>Samples the numeric fields of a status delta (at most once per <see cref="FleetOptions.TelemetryInterval"/> per device).</summary>
    void RecordTelemetry(DeviceState d, JsonObject delta, bool force = false);

    /// <summary>Queues one value (the <c>db write</c> node); false when the queue is full.</summary>
    bool RecordPoint(string deviceId, string field, double value, long? tsMs = null);

    Task<IReadOnlyList<TelemetryPoint>> TelemetryAsync(string deviceId, string field, long fromMs, long toMs, long bucketMs, CancellationToken ct = default);

    Task<IReadOnlyList<string>> TelemetryFieldsAsync(string deviceId, CancellationToken ct = default);

    /// <summary>Deletes values older than the retention; returns how many.</summary>
    Task<int> ApplyRetentionAsync(CancellationToken ct = default);
}
