using FlowFleet.Fleet.Registry;
using Microsoft.Data.Sqlite;

namespace FlowFleet.Server.Auth;

/// <summary>
/// The users database's start on SQLite without EF Core (issue 19): EF Core's first context costs ~200 ms of CPU before the
/// server can answer. A new file gets EF Core's own create script (held equal to <c>GenerateCreateScript()</c> by
/// <c>ServerSqliteStartTests</c>), a file whose tables have every column of the model is left alone, and the first admin is
/// written with plain SQL. Anything else (an older file to upgrade) returns false and EF Core's path runs
/// (<c>EnsureCreated</c> and <see cref="ServerSchema"/>). EF Core is built on the first login instead.
/// </summary>
internal static class ServerSqliteStart
{
    /// <summary>EF Core's <c>GenerateCreateScript()</c> for <see cref="ServerDbContext"/> on SQLite.</summary>
    internal static readonly Lazy<string> Script = EmbeddedSqliteSchema.Load(typeof(ServerSqliteStart).Assembly, "FlowFleet.Server.ServerSqlite.sql");

    /// <summary>The columns of the model's tables (a test holds them equal to EF Core's model).</summary>
    internal static readonly (string Table, string[] Columns)[] Tables =
    [
        ("Users", ["Id", "Name", "PasswordHash", "Role", "CreatedAt", "SecurityStamp", "Groups"]),
        ("Tokens", ["Id", "TokenHash", "UserName", "Scope", "ClientId", "ExpiresAt", "Revoked", "Stamp"]),
    ];

    /// <summary>Creates the tables of a new file or finds them current; false: EF Core's path must create or upgrade them.</summary>
    public static async Task<bool> TryEnsureSchemaAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        if (await EmbeddedSqliteSchema.CreateIfEmptyAsync(cmd, Script, ct).ConfigureAwait(false))
        {
            return true;
        }
        foreach (var (table, columns) in Tables)
        {
            cmd.CommandText = $"SELECT name FROM pragma_table_info('{table}')";
            var found = new HashSet<string>(StringComparer.Ordinal);
            await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    found.Add(r.GetString(0));
                }
            }
            if (!columns.All(found.Contains))
            {
                return false;
            }
        }
        return true;
    }

    public static async Task<bool> AnyUserAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT EXISTS (SELECT 1 FROM \"Users\")";
        return (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))! != 0;
    }

    /// <summary>Writes a user made by <see cref="UserService.NewAccount"/> as EF Core would (<c>CreatedAt</c> as UTC ticks).</summary>
    public static async Task InsertUserAsync(string connectionString, UserAccount user, CancellationToken ct)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "INSERT INTO \"Users\" (\"Name\", \"PasswordHash\", \"Role\", \"CreatedAt\", \"SecurityStamp\", \"Groups\") VALUES (@n, @h, @r, @c, @s, @g)";
        cmd.Parameters.AddWithValue("@n", user.Name);
        cmd.Parameters.AddWithValue("@h", user.PasswordHash);
        cmd.Parameters.AddWithValue("@r", user.Role);
        cmd.Parameters.AddWithValue("@c", user.CreatedAt.UtcTicks);
        cmd.Parameters.AddWithValue("@s", user.SecurityStamp);
        cmd.Parameters.AddWithValue("@g", (object?)user.Groups ?? DBNull.Value);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}

/// <summary>The users database's SQLite file (<c>data/flowfleet.db</c>); used unless a cluster keeps users in PostgreSQL.</summary>
public sealed record ServerSqliteDatabase(string ConnectionString);
