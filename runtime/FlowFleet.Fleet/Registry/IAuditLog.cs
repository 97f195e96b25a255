using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

/// <summary>The command audit: every RPC sent to a device, by whom, with its outcome and duration.</summary>
public interface IAuditLog
{
    /// <summary>Queues a record for the background writer (dropped when the queue is full).</summary>
    void LogCommand(string? user, string deviceId, string method, JsonNode? parameters, bool ok, string? error, double durationMs);

    /// <summary>Newest records first (of one device, or all with null), at most <paramref name="limit"/> (1-1000).</summary>
    Task<IReadOnlyList<CommandAuditRecord>> AuditLogAsync(string? deviceId, int limit, CancellationToken ct = default);
}
