using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace FlowFleet.Runtime.Context;

/// <summary>
/// A persistent store in SQLite, like Node-RED's <c>localfilesystem</c>: reads are served from memory, writes are
/// flushed in the background (every <c>flushInterval</c>) and on close.
/// </summary>
public sealed class SqliteContextStore : MemoryContextStore
{
    private readonly string _connectionString;
    private readonly ConcurrentDictionary<(string Scope, string Key), bool> _dirty = new();
    private readonly ConcurrentDictionary<string, bool> _deletedScopes = new(StringComparer.Ordinal);
    private readonly Timer _timer;
    private readonly SemaphoreSlim _flushLock = new(1, 1);

    public SqliteContextStore(string path, TimeSpan flushInterval)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        using (var connection = Open())
        {
            Execute(connection, "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS context (scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(scope, key));");
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT scope, key, value FROM context";
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                Load(reader.GetString(0), reader.GetString(1), JsonNode.Parse(reader.GetString(2)));
            }
        }
        _timer = new Timer(_ => _ = FlushAsync(), null, flushInterval, flushInterval);
    }

    public override void Set(string scope, string key, JsonNode? value)
    {
        base.Set(scope, key, value);
        _dirty[(scope, key)] = true;
    }

    public override void Delete(string scope)
    {
        base.Delete(scope);
        _deletedScopes[scope] = true;
    }

    public override async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_dirty.IsEmpty && _deletedScopes.IsEmpty)
        {
            return;
        }
        await _flushLock.WaitAsync(cancellationToken);
        try
        {
            using var connection = Open();
            using var tx = connection.BeginTransaction();
            foreach (var scope in _deletedScopes.Keys)
            {
                _deletedScopes.TryRemove(scope, out _);
                using var del = connection.CreateCommand();
                del.CommandText = "DELETE FROM context WHERE scope = $s";
                del.Parameters.AddWithValue("$s", scope);
                del.ExecuteNonQuery();
            }
            foreach (var (scope, key) in _dirty.Keys)
            {
                _dirty.TryRemove((scope, key), out _);
                var value = Get(scope, key);
                using var cmd = connection.CreateCommand();
                if (value is null)
                {
                    cmd.CommandText = "DELETE FROM context WHERE scope = $s AND key = $k";
                }
                else
                {
                    cmd.CommandText = "INSERT INTO context(scope, key, value) VALUES($s, $k, $v) ON CONFLICT(scope, key) DO UPDATE SET value = excluded.value";
                    cmd.Parameters.AddWithValue("$v", value.ToJsonString());
                }
                cmd.Parameters.AddWithValue("$s", scope);
                cmd.Parameters.AddWithValue("$k", key);
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
        finally
        {
            _flushLock.Release();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync();
        await FlushAsync();
        _flushLock.Dispose();
        await base.DisposeAsync();
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        return c;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
