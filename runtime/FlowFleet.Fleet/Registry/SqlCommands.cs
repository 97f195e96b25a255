using System.Data.Common;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// Raw (and batched) commands shared by the plain-SQL stores — the fleet's device writes, the server's users and sessions:
/// the same text runs on SQLite and PostgreSQL (quoted names, @parameters).
/// </summary>
public static class SqlCommands
{
    /// <summary>Statements sent in one round trip where the provider batches.</summary>
    private const int BatchSize = 500;

    // SQLite compiles a statement once for the whole batch; Npgsql can't prepare parameters that have no value (and type) yet.
    public static Task PrepareAsync(DbCommand cmd, CancellationToken ct) =>
        cmd is Microsoft.Data.Sqlite.SqliteCommand ? cmd.PrepareAsync(ct) : Task.CompletedTask;

    public static DbParameter Parameter(DbCommand cmd, string name)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        cmd.Parameters.Add(p);
        return p;
    }

    /// <summary>
    /// Runs <paramref name="sql"/> once per row in <paramref name="tx"/>, <paramref name="bind"/> filling the values of
    /// <paramref name="names"/> (null is written as NULL): where the provider batches (PostgreSQL) up to 500 statements go in
    /// one round trip, else (SQLite, in process) one prepared statement runs for each row. Returns the rows affected.
    /// </summary>
    public static async Task<int> ExecuteEachAsync<T>(DbConnection c, DbTransaction tx, string sql, string[] names, IReadOnlyList<T> rows,
        Action<T, object?[]> bind, CancellationToken ct)
    {
        var values = new object?[names.Length];
        var affected = 0;
        if (c.CanCreateBatch)
        {
            for (var start = 0; start < rows.Count; start += BatchSize)
            {
                await using var batch = c.CreateBatch();
                batch.Transaction = tx;
                for (var i = start; i < Math.Min(rows.Count, start + BatchSize); i++)
                {
                    bind(rows[i], values);
                    var command = batch.CreateBatchCommand();
#pragma warning disable CA2100 // The callers' SQL is constant; every value is a parameter.
                    command.CommandText = sql;
#pragma warning restore CA2100
                    for (var n = 0; n < names.Length; n++)
                    {
                        var p = command.CreateParameter();
                        p.ParameterName = names[n];
                        p.Value = values[n] ?? DBNull.Value;
                        command.Parameters.Add(p);
                    }
                    batch.BatchCommands.Add(command);
                }
                affected += await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            return affected;
        }
        await using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
#pragma warning disable CA2100 // As above.
        cmd.CommandText = sql;
#pragma warning restore CA2100
        var parameters = names.Select(n => Parameter(cmd, n)).ToArray();
        await PrepareAsync(cmd, ct).ConfigureAwait(false);
        foreach (var row in rows)
        {
            bind(row, values);
            for (var n = 0; n < parameters.Length; n++)
            {
                parameters[n].Value = values[n] ?? DBNull.Value;
            }
            affected += await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        return affected;
    }

    /// <summary>A command of <paramref name="sql"/> (the caller's constant text) with named values; null is written as NULL.</summary>
    public static DbCommand Command(DbConnection c, string sql, params (string Name, object? Value)[] args)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(args);
        var cmd = c.CreateCommand();
#pragma warning disable CA2100 // As above.
        cmd.CommandText = sql;
#pragma warning restore CA2100
        foreach (var (name, value) in args)
        {
            Parameter(cmd, name).Value = value ?? DBNull.Value;
        }
        return cmd;
    }

    /// <summary>One statement with named values, for the stores' single-row writes.</summary>
    public static async Task<int> ExecuteAsync(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(c, sql, args);
        cmd.Transaction = tx;
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}

/// <summary>An INSERT of one row into <paramref name="table"/>'s <paramref name="columns"/>, each value an @parameter named after its column.</summary>
internal sealed class SqlInsert(string table, params string[] columns)
{
    public string Sql { get; } = $"INSERT INTO \"{table}\" ({string.Join(", ", columns.Select(c => $"\"{c}\""))}) VALUES ({string.Join(", ", columns.Select(c => "@" + c))})";

    public string[] Parameters { get; } = [.. columns.Select(c => "@" + c)];
}
