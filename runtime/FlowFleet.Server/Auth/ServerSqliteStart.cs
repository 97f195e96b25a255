using FlowFleet.Fleet.Registry;
using Microsoft.Data.Sqlite;

namespace FlowFleet.Server.Auth;

/// <summary>
/// The users database's tables on SQLite, without EF Core (issue 19). A new file gets the create script earlier versions'
/// EF Core model made (<c>EnsureCreated</c>; held equal to that model's <c>GenerateCreateScript()</c> by
/// <c>ServerSqliteStartTests</c>); a file made by an older version gets the columns added since (what EF Core's
/// <c>EnsureCreated</c> could not do, and <c>ServerSchema</c> did before); a current file is left alone.
/// </summary>
internal static class ServerSqliteStart
{
    /// <summary>The create script (EF Core's <c>GenerateCreateScript()</c> for the users model on SQLite).</summary>
    internal static readonly Lazy<string> Script = EmbeddedSqliteSchema.Load(typeof(ServerSqliteStart).Assembly, "FlowFleet.Server.ServerSqlite.sql");

    /// <summary>The columns of the tables (a test holds them equal to the model's).</summary>
    internal static readonly (string Table, string[] Columns)[] Tables =
    [
        ("Users", ["Id", "Name", "PasswordHash", "Role", "CreatedAt", "SecurityStamp", "Groups"]),
        ("Tokens", ["Id", "TokenHash", "UserName", "Scope", "ClientId", "ExpiresAt", "Revoked", "Stamp"]),
    ];

    /// <summary>Columns added after the first release, with how an older file gets them.</summary>
    private static readonly (string Table, string Column, string Definition)[] s_added =
    [
        ("Users", "SecurityStamp", "TEXT NOT NULL DEFAULT ''"),
        ("Users", "Groups", "TEXT NULL"),
        ("Tokens", "Stamp", "TEXT NOT NULL DEFAULT ''"),
    ];

    /// <summary>Creates the tables of a new file, or adds the columns an older file lacks; false when it was current already.</summary>
    public static async Task<bool> EnsureSchemaAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        if (await EmbeddedSqliteSchema.CreateIfEmptyAsync(cmd, Script, ct).ConfigureAwait(false))
        {
            return true;
        }
        var changed = false;
        foreach (var (table, columns) in Tables)
        {
            var found = await ColumnsAsync(cmd, table, ct).ConfigureAwait(false);
            if (found.Count == 0)
            {
                throw new InvalidOperationException($"{connection.DataSource} has tables but no \"{table}\": it is not a FlowFleet users database");
            }
            foreach (var (_, column, definition) in s_added.Where(a => a.Table == table && !found.Contains(a.Column)))
            {
                // Table and column names come from the lists above, never from input.
#pragma warning disable CA2100
                cmd.CommandText = $"ALTER TABLE \"{table}\" ADD COLUMN \"{column}\" {definition}";
#pragma warning restore CA2100
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                changed = true;
            }
            if (columns.FirstOrDefault(c => !found.Contains(c) && !s_added.Any(a => a.Table == table && a.Column == c)) is { } missing)
            {
                throw new InvalidOperationException($"{connection.DataSource}: table \"{table}\" has no column \"{missing}\"");
            }
        }
        return changed;
    }

    private static async Task<HashSet<string>> ColumnsAsync(SqliteCommand cmd, string table, CancellationToken ct)
    {
#pragma warning disable CA2100 // Table names come from the list above.
        cmd.CommandText = $"SELECT name FROM pragma_table_info('{table}')";
#pragma warning restore CA2100
        var found = new HashSet<string>(StringComparer.Ordinal);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            found.Add(r.GetString(0));
        }
        return found;
    }
}
