using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace FlowFleet.Runtime.Storage;

/// <summary>
/// Deploy history in SQLite (<c>data/history.db</c>): one row per deploy, the flow set gzip-compressed. A file of its own,
/// so its table never meets the server database's <c>EnsureCreated</c>, which skips a file that already has tables.
/// </summary>
public sealed class SqliteFlowHistory : IFlowHistory
{
    private readonly string _connectionString;
    private readonly FlowHistoryOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private SqliteConnection? _writer;

    public SqliteFlowHistory(string path, FlowHistoryOptions? options = null, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }
        _options = options ?? new FlowHistoryOptions();
        _time = time ?? TimeProvider.System;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        using var connection = Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS flow_history (
                version INTEGER PRIMARY KEY AUTOINCREMENT, rev TEXT NOT NULL, deployed_at INTEGER NOT NULL, user TEXT,
                type TEXT NOT NULL, message TEXT, restored_from INTEGER, nodes INTEGER NOT NULL, tabs INTEGER NOT NULL,
                flows BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS flow_history_rev ON flow_history(rev);
            """;
        cmd.ExecuteNonQuery();
    }

    public Notifier<FlowVersionInfo> Recorded { get; } = new();

    public async Task<FlowVersionInfo> RecordAsync(JsonArray flows, string rev, string type, DeployInfo? info, CancellationToken cancellationToken = default,
        ReadOnlyMemory<byte> json = default)
    {
        ArgumentNullException.ThrowIfNull(flows);
        var now = _time.GetUtcNow();
        var (tabs, nodes) = FlowHistoryBlob.Count(flows, json);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            // One connection kept for the writes: closing the last connection to a WAL database checkpoints it, which cost
            // a deploy more than its insert did.
            var connection = _writer ??= Open();
            await using var tx = connection.BeginTransaction();
            long version;
            await using (var insert = connection.CreateCommand())
            {
                insert.CommandText = """
                    INSERT INTO flow_history (rev, deployed_at, user, type, message, restored_from, nodes, tabs, flows)
                    VALUES ($rev, $at, $user, $type, $message, $from, $nodes, $tabs, $flows); SELECT last_insert_rowid();
                    """;
                insert.Parameters.AddWithValue("$rev", rev);
                insert.Parameters.AddWithValue("$at", now.UtcTicks);
                insert.Parameters.AddWithValue("$user", (object?)info?.User ?? DBNull.Value);
                insert.Parameters.AddWithValue("$type", type);
                insert.Parameters.AddWithValue("$message", string.IsNullOrWhiteSpace(info?.Message) ? DBNull.Value : info.Message.Trim());
                insert.Parameters.AddWithValue("$from", (object?)info?.RestoredFrom ?? DBNull.Value);
                insert.Parameters.AddWithValue("$nodes", nodes);
                insert.Parameters.AddWithValue("$tabs", tabs);
                insert.Parameters.AddWithValue("$flows", FlowHistoryBlob.Compress(flows, json));
                version = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
            }
            await using (var prune = connection.CreateCommand())
            {
                // The newest version (this one) is never pruned, whatever the settings say.
                prune.CommandText = "DELETE FROM flow_history WHERE version < $v AND (($max > 0 AND version NOT IN (SELECT version FROM flow_history ORDER BY version DESC LIMIT $max)) OR ($minAt > 0 AND deployed_at < $minAt))";
                prune.Parameters.AddWithValue("$v", version);
                prune.Parameters.AddWithValue("$max", Math.Max(0, _options.MaxCount));
                prune.Parameters.AddWithValue("$minAt", _options.MaxAge > TimeSpan.Zero ? (now - _options.MaxAge).UtcTicks : 0L);
                await prune.ExecuteNonQueryAsync(cancellationToken);
            }
            await tx.CommitAsync(cancellationToken);
            var recorded = new FlowVersionInfo(version, rev, now, info?.User, type, string.IsNullOrWhiteSpace(info?.Message) ? null : info.Message.Trim(), info?.RestoredFrom, nodes, tabs);
            Recorded.Publish(recorded);
            return recorded;
        }
        catch
        {
            // A failed write (disk full, a damaged file) opens afresh next time.
            _writer?.Dispose();
            _writer = null;
            throw;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<IReadOnlyList<FlowVersionInfo>> ListAsync(int limit = 1000, CancellationToken cancellationToken = default)
    {
        await using var connection = Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {InfoColumns} FROM flow_history ORDER BY version DESC LIMIT $limit";
        cmd.Parameters.AddWithValue("$limit", Math.Clamp(limit, 1, 100_000));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        var list = new List<FlowVersionInfo>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadInfo(reader));
        }
        return list;
    }

    public Task<FlowVersion?> GetAsync(long version, CancellationToken cancellationToken = default) =>
        QueryOneAsync("version = $key", version, cancellationToken);

    public Task<FlowVersion?> FindByRevAsync(string rev, CancellationToken cancellationToken = default) =>
        QueryOneAsync("rev = $key", rev, cancellationToken);

    private const string InfoColumns = "version, rev, deployed_at, user, type, message, restored_from, nodes, tabs";

    private async Task<FlowVersion?> QueryOneAsync(string where, object key, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {InfoColumns}, flows FROM flow_history WHERE {where} ORDER BY version DESC LIMIT 1";
        cmd.Parameters.AddWithValue("$key", key);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        var flows = FlowHistoryBlob.Flows((byte[])reader.GetValue(9));
        return new FlowVersion(ReadInfo(reader), flows);
    }

    private static FlowVersionInfo ReadInfo(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), new DateTimeOffset(r.GetInt64(2), TimeSpan.Zero), r.IsDBNull(3) ? null : r.GetString(3), r.GetString(4),
        r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : r.GetInt64(6), r.GetInt32(7), r.GetInt32(8));

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        // WAL with NORMAL sync: a deploy waits for no fsync of the history; a power cut may lose the newest versions only.
        using var pragma = c.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous=NORMAL";
        pragma.ExecuteNonQuery();
        return c;
    }
}
