using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Storage;

/// <summary>Who deploys and why: kept with the deployed flows in the history.</summary>
/// <param name="User">The user's name (null for the system: start-up, CLI).</param>
/// <param name="Message">A note the user added at deploy time.</param>
/// <param name="RestoredFrom">The history version this deploy restores, when it is a restore.</param>
public sealed record DeployInfo(string? User, string? Message = null, long? RestoredFrom = null);

/// <summary>One kept deploy, without its flows.</summary>
public sealed record FlowVersionInfo(long Version, string Rev, DateTimeOffset DeployedAt, string? User, string Type, string? Message,
    long? RestoredFrom, int Nodes, int Tabs)
{
    public JsonObject ToJson() => new()
    {
        ["version"] = Version,
        ["rev"] = Rev,
        ["deployedAt"] = DeployedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ["user"] = User,
        ["type"] = Type,
        ["message"] = Message,
        ["restoredFrom"] = RestoredFrom,
        ["nodes"] = Nodes,
        ["tabs"] = Tabs,
    };
}

/// <summary>One kept deploy with the full flow set as it was deployed (credentials never included).</summary>
public sealed record FlowVersion(FlowVersionInfo Info, JsonArray Flows);

/// <summary>
/// Every deploy, kept: who, when, which deployment type, an optional message and the whole flow set. History is only
/// appended to (a restore is a new deploy); retention drops the oldest versions, never the newest.
/// </summary>
public interface IFlowHistory
{
    /// <summary>Raised after a version was recorded.</summary>
    Notifier<FlowVersionInfo> Recorded { get; }

    /// <param name="json">The flows already serialised (compact UTF-8), when the caller has them: spares serialising them again.</param>
    Task<FlowVersionInfo> RecordAsync(JsonArray flows, string rev, string type, DeployInfo? info, CancellationToken cancellationToken = default,
        ReadOnlyMemory<byte> json = default);

    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<FlowVersionInfo>> ListAsync(int limit = 1000, CancellationToken cancellationToken = default);

    Task<FlowVersion?> GetAsync(long version, CancellationToken cancellationToken = default);

    /// <summary>The newest version holding flows with this <c>rev</c>.</summary>
    Task<FlowVersion?> FindByRevAsync(string rev, CancellationToken cancellationToken = default);
}

/// <summary>How much history is kept (section <c>Flows:History</c>).</summary>
public sealed class FlowHistoryOptions
{
    /// <summary>Versions kept at most; 0 for no count limit.</summary>
    public int MaxCount { get; set; } = 200;

    /// <summary>Versions older than this are dropped; zero for no age limit. The newest version is always kept.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(365);
}
