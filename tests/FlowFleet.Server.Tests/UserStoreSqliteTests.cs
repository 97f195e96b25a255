using System.Security.Cryptography;
using System.Text;
using FlowFleet.Server.Auth;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Server.Tests;

/// <summary>
/// Users and sessions on SQLite in plain SQL (<see cref="UserStore"/>, <see cref="ServerSqliteStart"/>) against the EF Core
/// model earlier versions used (<see cref="PreviousServerDbContext"/>): the same tables, a file made by an earlier version
/// logs in and keeps its sessions, what is written here reads back through EF Core field for field, an older file is upgraded.
/// </summary>
public sealed class UserStoreSqliteTests : IDisposable
{
    private readonly SqliteTempDirectory _dir = new("flowfleet-users-start-");

    public void Dispose() => _dir.Dispose();

    private ServiceProvider Services(string name) =>
        UserServices.Build(Directory.CreateDirectory(Path.Combine(_dir.FullName, name)).FullName, new FakeTimeProvider(DateTimeOffset.UtcNow));

    private string File(string name) => $"Data Source={Path.Combine(_dir.FullName, name, "flowfleet.db")}";

    [Fact]
    public void Embedded_script_is_the_previous_EF_Core_models_create_script()
    {
        using var db = PreviousServerDbContext.Sqlite("Data Source=:memory:");
        Assert.True(db.Database.GenerateCreateScript().ReplaceLineEndings().Trim() == ServerSqliteStart.Script.Value.ReplaceLineEndings().Trim(),
            "Auth/ServerSqlite.sql is not the create script of the users model any more");
    }

    [Fact]
    public void Columns_are_the_models()
    {
        using var db = PreviousServerDbContext.Sqlite("Data Source=:memory:");
        foreach (var (table, columns) in ServerSqliteStart.Tables)
        {
            var entity = db.Model.GetEntityTypes().Single(e => e.GetTableName() == table);
            Assert.Equal(entity.GetProperties().Select(p => p.GetColumnName()).Order(StringComparer.Ordinal), columns.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task A_new_file_gets_the_tables_EnsureCreated_made_and_EF_Core_reads_what_is_written_here()
    {
        Directory.CreateDirectory(Path.Combine(_dir.FullName, "ef"));
        await using (var db = PreviousServerDbContext.Sqlite(File("ef")))
        {
            await db.Database.EnsureCreatedAsync();
        }
        await using var sp = Services("plain");
        await ServerDatabase.EnsureAsync(sp);
        Assert.Equal(await DescribeAsync(File("ef")), await DescribeAsync(File("plain")));

        var users = sp.GetRequiredService<UserService>();
        Assert.False(await users.AnyAsync());
        var admin = await users.AddAsync("admin", Roles.Admin, "first-password");
        await users.AddAsync("vera", Roles.Viewer, "viewer-password");
        await users.SetGroupsAsync("vera", ["kitchen", "hall"]);
        var (_, session) = await sp.GetRequiredService<TokenService>().IssueAsync(admin, "flows.read", "a-client");
        await using (var db = PreviousServerDbContext.Sqlite(File("plain")))
        {
            var read = await db.Users.AsNoTracking().OrderBy(u => u.Name).ToListAsync();
            Assert.Equal(["admin", "vera"], read.Select(u => u.Name));
            Assert.Equal((admin.Id, admin.PasswordHash, Roles.Admin, admin.CreatedAt.UtcTicks, admin.SecurityStamp, (string?)null),
                (read[0].Id, read[0].PasswordHash, read[0].Role, read[0].CreatedAt.UtcTicks, read[0].SecurityStamp, read[0].Groups));
            Assert.Equal("[\"kitchen\",\"hall\"]", read[1].Groups);
            var token = await db.Tokens.AsNoTracking().SingleAsync();
            Assert.Equal((session.Sid, "admin", "flows.read", "a-client", session.ExpiresAt.UtcTicks, false, admin.SecurityStamp),
                (token.TokenHash, token.UserName, token.Scope, token.ClientId, token.ExpiresAt.UtcTicks, token.Revoked, token.Stamp));
        }
        Assert.False(await ServerSqliteStart.EnsureSchemaAsync(File("plain"), CancellationToken.None));
    }

    [Fact]
    public async Task A_file_made_by_the_previous_version_logs_in_and_keeps_its_sessions()
    {
        var previousToken = "a-token-issued-by-the-previous-version";
        var hasher = new Microsoft.AspNetCore.Identity.PasswordHasher<UserAccount>();
        Directory.CreateDirectory(Path.Combine(_dir.FullName, "previous"));
        await using (var db = PreviousServerDbContext.Sqlite(File("previous")))
        {
            await db.Database.EnsureCreatedAsync();
            var admin = new UserAccount { Name = "admin", Role = Roles.Admin, PasswordHash = "" };
            admin.PasswordHash = hasher.HashPassword(admin, "old-admin-password");
            var op = new UserAccount { Name = "otto", Role = Roles.Operator, PasswordHash = "", Groups = "[\"garage\"]" };
            op.PasswordHash = hasher.HashPassword(op, "old-operator-password");
            db.Users.AddRange(admin, op);
            db.Tokens.Add(new ApiToken
            {
                TokenHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(previousToken))), UserName = "otto", Scope = "*",
                ClientId = TokenService.CookieClient, ExpiresAt = DateTimeOffset.UtcNow.AddDays(6), Stamp = op.SecurityStamp,
            });
            await db.SaveChangesAsync();
        }
        var before = await DescribeAsync(File("previous"));
        await using var sp = Services("previous");
        await ServerDatabase.EnsureAsync(sp);
        Assert.Equal(before, await DescribeAsync(File("previous")));

        var users = sp.GetRequiredService<UserService>();
        var tokens = sp.GetRequiredService<TokenService>();
        Assert.Null(await users.VerifyAsync("admin", "wrong-password"));
        var admin2 = await users.VerifyAsync("admin", "old-admin-password");
        Assert.NotNull(admin2);
        Assert.Null((await tokens.ValidateAsync((await tokens.IssueAsync(admin2, "*", "cli")).Token))!.Groups);
        var session = await tokens.ValidateAsync(previousToken);
        Assert.NotNull(session);
        Assert.Equal(("otto", Roles.Operator), (session.UserName, session.Role));
        Assert.Equal(["garage"], session.Groups!);
        Assert.Equal(["admin", "otto"], (await users.ListAsync()).Select(u => u.Name));

        // A password change ends the session made by the previous version; the last admin can't go.
        await users.SetPasswordAsync("otto", "new-operator-password");
        Assert.Null(await tokens.ValidateAsync(previousToken));
        Assert.NotNull(await users.VerifyAsync("otto", "new-operator-password"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => users.DeleteAsync("admin"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => users.SetRoleAsync("admin", Roles.Viewer));
        await Assert.ThrowsAsync<InvalidOperationException>(() => users.AddAsync("otto", Roles.Viewer, "another-password"));
        await users.DeleteAsync("otto");
        await using var check = PreviousServerDbContext.Sqlite(File("previous"));
        Assert.Equal(["admin"], await check.Users.Select(u => u.Name).ToListAsync());
        Assert.True(await check.Tokens.Where(t => t.UserName == "otto").AllAsync(t => t.Revoked));
    }

    [Fact]
    public async Task An_older_file_gets_the_columns_added_since()
    {
        await using var sp = Services("old");
        await using (var c = new SqliteConnection(File("old")))
        {
            // A users table from before security stamps and device groups, with a user in it.
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE \"Users\" (\"Id\" INTEGER NOT NULL CONSTRAINT \"PK_Users\" PRIMARY KEY AUTOINCREMENT, \"Name\" TEXT NOT NULL, \"PasswordHash\" TEXT NOT NULL, \"Role\" TEXT NOT NULL, \"CreatedAt\" INTEGER NOT NULL);"
                + "CREATE TABLE \"Tokens\" (\"Id\" INTEGER NOT NULL CONSTRAINT \"PK_Tokens\" PRIMARY KEY AUTOINCREMENT, \"TokenHash\" TEXT NOT NULL, \"UserName\" TEXT NOT NULL, \"Scope\" TEXT NOT NULL, \"ClientId\" TEXT NOT NULL, \"ExpiresAt\" INTEGER NOT NULL, \"Revoked\" INTEGER NOT NULL);";
            await cmd.ExecuteNonQueryAsync();
        }
        Assert.True(await ServerSqliteStart.EnsureSchemaAsync(File("old"), CancellationToken.None));
        Assert.False(await ServerSqliteStart.EnsureSchemaAsync(File("old"), CancellationToken.None));
        var users = sp.GetRequiredService<UserService>();
        await users.AddAsync("viewer1", Roles.Viewer, "a-password");
        Assert.NotNull(await users.VerifyAsync("viewer1", "a-password"));
        await using var db = PreviousServerDbContext.Sqlite(File("old"));
        Assert.Equal("viewer1", (await db.Users.SingleAsync()).Name);
    }

    [Fact]
    public async Task A_file_with_other_tables_is_refused_with_a_clear_error()
    {
        await using var sp = Services("other");
        await using (var c = new SqliteConnection(File("other")))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)";
            await cmd.ExecuteNonQueryAsync();
        }
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerDatabase.EnsureAsync(sp));
        Assert.Contains("not a FlowFleet users database", ex.Message, StringComparison.Ordinal);
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
