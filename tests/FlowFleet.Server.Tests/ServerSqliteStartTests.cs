using FlowFleet.Server.Auth;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>
/// The users database's start on SQLite without EF Core (<see cref="ServerSqliteStart"/>) makes the same tables as EF Core's
/// <c>EnsureCreated</c>, writes an admin EF Core reads back, and leaves an older file to EF Core's upgrade.
/// </summary>
public sealed class ServerSqliteStartTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("flowfleet-users-start-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private ServiceProvider Services(string name)
    {
        var services = new ServiceCollection();
        services.AddServerDatabase(Path.Combine(_dir.FullName, name));
        services.AddSingleton<UserService>();
        return services.BuildServiceProvider();
    }

    private static ServerDbContext Context(string connection) =>
        new(new DbContextOptionsBuilder<ServerDbContext>().UseSqlite(connection).Options);

    [Fact]
    public void Embedded_script_is_EF_Cores_create_script()
    {
        using var db = Context("Data Source=:memory:");
        Assert.True(db.Database.GenerateCreateScript().ReplaceLineEndings().Trim() == ServerSqliteStart.Script.Value.ReplaceLineEndings().Trim(),
            "Auth/ServerSqlite.sql is not EF Core's create script for ServerDbContext any more: write db.Database.GenerateCreateScript() to it");
    }

    [Fact]
    public void Columns_are_the_models()
    {
        using var db = Context("Data Source=:memory:");
        foreach (var (table, columns) in ServerSqliteStart.Tables)
        {
            var entity = db.Model.GetEntityTypes().Single(e => e.GetTableName() == table);
            Assert.Equal(entity.GetProperties().Select(p => p.GetColumnName()).Order(StringComparer.Ordinal), columns.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task A_new_file_gets_the_tables_EnsureCreated_makes_and_EF_Core_reads_the_admin_written_here()
    {
        Directory.CreateDirectory(Path.Combine(_dir.FullName, "ef"));
        await using (var db = Context($"Data Source={Path.Combine(_dir.FullName, "ef", "flowfleet.db")}"))
        {
            await db.Database.EnsureCreatedAsync();
        }
        await using var sp = Services("plain");
        Directory.CreateDirectory(Path.Combine(_dir.FullName, "plain"));
        var sqlite = ServerDatabase.Sqlite(sp)!;
        Assert.True(await ServerSqliteStart.TryEnsureSchemaAsync(sqlite, CancellationToken.None));
        Assert.Equal(await DescribeAsync($"Data Source={Path.Combine(_dir.FullName, "ef", "flowfleet.db")}"), await DescribeAsync(sqlite));
        Assert.False(await ServerSqliteStart.AnyUserAsync(sqlite, CancellationToken.None));

        var users = sp.GetRequiredService<UserService>();
        var admin = users.NewAccount("admin", Roles.Admin, "first-password");
        await ServerSqliteStart.InsertUserAsync(sqlite, admin, CancellationToken.None);
        Assert.True(await ServerSqliteStart.AnyUserAsync(sqlite, CancellationToken.None));
        var read = await users.VerifyAsync("admin", "first-password");
        Assert.NotNull(read);
        Assert.Equal((Roles.Admin, admin.SecurityStamp, admin.CreatedAt.UtcTicks, (string?)null), (read.Role, read.SecurityStamp, read.CreatedAt.UtcTicks, read.Groups));
        Assert.Null(await users.VerifyAsync("admin", "wrong-password"));
        // The tables are current now: the next start changes nothing.
        Assert.True(await ServerSqliteStart.TryEnsureSchemaAsync(sqlite, CancellationToken.None));
    }

    [Fact]
    public async Task An_older_file_is_left_to_EF_Cores_upgrade()
    {
        await using var sp = Services("old");
        Directory.CreateDirectory(Path.Combine(_dir.FullName, "old"));
        var sqlite = ServerDatabase.Sqlite(sp)!;
        await using (var c = new SqliteConnection(sqlite))
        {
            // A users table from before security stamps and device groups.
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE \"Users\" (\"Id\" INTEGER NOT NULL CONSTRAINT \"PK_Users\" PRIMARY KEY AUTOINCREMENT, \"Name\" TEXT NOT NULL, \"PasswordHash\" TEXT NOT NULL, \"Role\" TEXT NOT NULL, \"CreatedAt\" INTEGER NOT NULL);"
                + "CREATE TABLE \"Tokens\" (\"Id\" INTEGER NOT NULL CONSTRAINT \"PK_Tokens\" PRIMARY KEY AUTOINCREMENT, \"TokenHash\" TEXT NOT NULL, \"UserName\" TEXT NOT NULL, \"Scope\" TEXT NOT NULL, \"ClientId\" TEXT NOT NULL, \"ExpiresAt\" INTEGER NOT NULL, \"Revoked\" INTEGER NOT NULL);";
            await cmd.ExecuteNonQueryAsync();
        }
        Assert.False(await ServerSqliteStart.TryEnsureSchemaAsync(sqlite, CancellationToken.None));
        await ServerDatabase.EnsureAsync(sp);
        Assert.True(await ServerSqliteStart.TryEnsureSchemaAsync(sqlite, CancellationToken.None));
        await sp.GetRequiredService<UserService>().AddAsync("viewer1", Roles.Viewer, "a-password");
        Assert.NotNull(await sp.GetRequiredService<UserService>().VerifyAsync("viewer1", "a-password"));
    }

    /// <summary>Tables and indexes with their SQL, and the journal mode.</summary>
    private static async Task<string> DescribeAsync(string connection)
    {
        await using var c = new SqliteConnection(connection);
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT type || ' | ' || name || ' | ' || tbl_name || ' | ' || coalesce(sql, 'null') FROM sqlite_master ORDER BY name; PRAGMA journal_mode;";
        var lines = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync();
        do
        {
            while (await r.ReadAsync())
            {
                lines.Add(r.GetString(0));
            }
        }
        while (await r.NextResultAsync());
        return string.Join('\n', lines);
    }
}
