using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Storage;
using Npgsql;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// The deploy history in PostgreSQL (<c>ff_flow_history</c>), shared by the instances of a cluster: a deploy through any
/// of them is one version, listed and restorable from every instance. Same shape and retention as <see cref="SqliteFlowHistory"/>.
/// </summary>
public sealed class PostgresFlowHistory(ClusterStore store, FlowHistoryOptions? options = null, TimeProvider? time = null) : IFlowHistory
{
    private const string InfoColumns = "version, rev, deployed_at, \"user\", type, message, restored_from, nodes, tabs";

    private readonly FlowHistoryOptions _options = options ?? new FlowHistoryOptions();

    public Notifier<FlowVersionInfo> Recorded { get; } = new();

    public async Task<FlowVersionInfo> RecordAsync(JsonArray flows, string rev, string type, DeployInfo? info, CancellationToken cancellationToken = default,
        ReadOnlyMemory<byte> json = default)
    {
        ArgumentNullException.ThrowIfNull(flows);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var (tabs, nodes) = FlowHistoryBlob.Count(flows, json);
        var message = string.IsNullOrWhiteSpace(info?.Message) ? null : info.Message.Trim();
        await using var connection = await store.OpenAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        long version;
        await using (var insert = ClusterStore.Command(connection, """
            INSERT INTO ff_flow_history (rev, deployed_at, "user", type, message, restored_from, nodes, tabs, flows)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING version
            """, rev, now, info?.User, type, message, info?.RestoredFrom, nodes, tabs, FlowHistoryBlob.Compress(flows, json)))
        {
            insert.Transaction = tx;
            version = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
        }
        // The newest version (this one) is never pruned, whatever the settings say.
        await using (var prune = ClusterStore.Command(connection, """
            DELETE FROM ff_flow_history WHERE version < $1 AND (($2 > 0 AND version NOT IN (SELECT version FROM ff_flow_history ORDER BY version DESC LIMIT $2))
                OR ($3::timestamptz IS NOT NULL AND deployed_at < $3::timestamptz))
            """, version, Math.Max(0, _options.MaxCount), _options.MaxAge > TimeSpan.Zero ? now - _options.MaxAge : null))
        {
            prune.Transaction = tx;
            await prune.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        var recorded = new FlowVersionInfo(version, rev, now, info?.User, type, message, info?.RestoredFrom, nodes, tabs);
        Recorded.Publish(recorded);
        return recorded;
    }

    public async Task<IReadOnlyList<FlowVersionInfo>> ListAsync(int limit = 1000, CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenAsync(cancellationToken);
        await using var cmd = ClusterStore.Command(connection, $"SELECT {InfoColumns} FROM ff_flow_history ORDER BY version DESC LIMIT $1", Math.Clamp(limit, 1, 100_000));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        var list = new List<FlowVersionInfo>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadInfo(reader));
        }
        return list;
    }

    public Task<FlowVersion?> GetAsync(long version, CancellationToken cancellationToken = default) => QueryOneAsync("version = $1", version, cancellationToken);

    public Task<FlowVersion?> FindByRevAsync(string rev, CancellationToken cancellationToken = default) => QueryOneAsync("rev = $1", rev, cancellationToken);

    private async Task<FlowVersion?> QueryOneAsync(string where, object key, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenAsync(cancellationToken);
        await using var cmd = ClusterStore.Command(connection, $"SELECT {InfoColumns}, flows FROM ff_flow_history WHERE {where} ORDER BY version DESC LIMIT 1", key);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        var flows = FlowHistoryBlob.Flows((byte[])reader.GetValue(9));
        return new FlowVersion(ReadInfo(reader), flows);
    }

    private static FlowVersionInfo ReadInfo(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetString(1), new DateTimeOffset(r.GetDateTime(2), TimeSpan.Zero), r.IsDBNull(3) ? null : r.GetString(3), r.GetString(4),
        r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : r.GetInt64(6), r.GetInt32(7), r.GetInt32(8));
}
