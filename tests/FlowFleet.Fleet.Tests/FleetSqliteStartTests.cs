using System.Text.Json;
using FlowFleet.Fleet.Registry;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace FlowFleet.Fleet.Tests;

/// <summary>
/// The registry's start on SQLite without EF Core (<see cref="FleetSqliteStart"/>) makes and reads the same database as EF
/// Core's migrations and queries, and leaves every other case to EF Core.
/// </summary>
public sealed class FleetSqliteStartTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("flowfleet-sqlite-start-");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private string Connection(string name) => $"Data Source={Path.Combine(_dir.FullName, name)}";

    private static FleetDbContext Context(string connection) =>
        new(new DbContextOptionsBuilder<FleetDbContext>().UseSqlite(connection).Options);

    [Fact]
    public void Embedded_script_is_EF_Cores_migration_script()
    {
        using var db = Context(Connection("script.db"));
        var expected = db.GetService<IMigrator>().GenerateScript();
        Assert.True(expected.ReplaceLineEndings() == FleetSqliteStart.Script.Value.ReplaceLineEndings(),
            "Registry/Migrations/FleetSqlite.sql is not the migrations' script any more: run `dotnet ef migrations script -c FleetDbContext -o Registry/Migrations/FleetSqlite.sql` in runtime/FlowFleet.Fleet (and drop the byte-order mark)");
        Assert.Equal(db.Database.GetMigrations(), FleetSqliteStart.Migrations);
    }

    [Fact]
    public async Task A_new_files_script_runs_as_one_transaction_and_a_failure_leaves_no_table()
    {
        // Each migration's own BEGIN/COMMIT is folded into one transaction (one fsync, not five): a statement failing
        // after the first migration's tables rolls those back too, and the connection is usable again.
        var script = new Lazy<string>(FleetSqliteStart.Script.Value + "\nBEGIN TRANSACTION;\nCREATE TABLE \"Devices\" (\"Id\" TEXT);\nCOMMIT;\n");
        await using var connection = new SqliteConnection(Connection("one-transaction.db"));
        await connection.OpenAsync();
        await using var cmd = connection.CreateCommand();
        await Assert.ThrowsAsync<SqliteException>(() => EmbeddedSqliteSchema.CreateIfEmptyAsync(cmd, script, CancellationToken.None));
        cmd.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table'";
        Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);

        Assert.True(await EmbeddedSqliteSchema.CreateIfEmptyAsync(cmd, FleetSqliteStart.Script, CancellationToken.None));
        cmd.CommandText = "SELECT count(*) FROM \"__EFMigrationsHistory\"";
        Assert.Equal((long)FleetSqliteStart.Migrations.Count, (long)(await cmd.ExecuteScalarAsync())!);
    }

    [Fact]
    public void Device_columns_are_the_models()
    {
        using var db = Context(Connection("model.db"));
        var columns = db.Model.FindEntityType(typeof(DeviceRecord))!.GetProperties().Select(p => p.GetColumnName()).Order(StringComparer.Ordinal);
        Assert.Equal(columns, FleetSqliteStart.DeviceColumns.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_new_file_gets_the_schema_EF_Cores_migrations_make()
    {
        await using (var db = Context(Connection("ef.db")))
        {
            await db.Database.MigrateAsync();
        }
        var loaded = await FleetSqliteStart.TryLoadAsync(Connection("plain.db"), CancellationToken.None);
        Assert.NotNull(loaded);
        Assert.Empty(loaded.Devices);
        Assert.Equal(await DescribeAsync(Connection("ef.db")), await DescribeAsync(Connection("plain.db")));
        // And EF Core takes the file as current: nothing left to migrate.
        await using var again = Context(Connection("plain.db"));
        Assert.Empty(await again.Database.GetPendingMigrationsAsync());
        await again.Database.MigrateAsync();
    }

    [Fact]
    public async Task Reads_what_EF_Core_wrote()
    {
        var connection = Connection("rows.db");
        await using (var db = Context(connection))
        {
            await db.Database.MigrateAsync();
            db.Devices.Add(new DeviceRecord
            {
                Id = "shellyplus1-a", Name = "Pump", Model = "SNSW-001X16EU", App = "Plus1", Gen = 2, Mac = "A8032ABE5401", FirmwareVersion = "1.4.4",
                Ip = "10.0.0.7", Admission = AdmissionStates.Accepted, InfoJson = "{\"id\":\"shellyplus1-a\"}", ConfigJson = "{\"sys\":{}}",
                StatusJson = "{\"switch:0\":{\"output\":true}}", DesiredJson = "{\"switch:0\":{}}", MethodsJson = "[\"Switch.Set\"]", Tags = "pump,garden",
                Password = "pw", TokenHash = "ab12", BoundAddress = "10.0.0.7", Transport = "websocket",
                FirstSeen = new DateTime(2026, 12, 1, 8, 30, 15, 123).AddTicks(4567), LastSeen = new DateTime(2026, 12, 7, 9, 0, 0),
            });
            db.Devices.Add(new DeviceRecord { Id = "pending-b", Admission = AdmissionStates.Pending, FirstSeen = DateTime.UnixEpoch, LastSeen = DateTime.UnixEpoch });
            db.Groups.Add(new GroupRecord { Name = "garden", Description = "outside" });
            db.Groups.Add(new GroupRecord { Name = "empty" });
            await db.SaveChangesAsync();
            db.GroupMembers.Add(new GroupMemberRecord { GroupId = (await db.Groups.SingleAsync(g => g.Name == "garden")).Id, DeviceId = "shellyplus1-a" });
            await db.SaveChangesAsync();
        }
        var loaded = await FleetSqliteStart.TryLoadAsync(connection, CancellationToken.None);
        Assert.NotNull(loaded);
        await using var read = Context(connection);
        Assert.Equal(Json(await read.Devices.AsNoTracking().OrderBy(d => d.Id).ToListAsync()), Json(loaded.Devices.OrderBy(d => d.Id, StringComparer.Ordinal)));
        Assert.Equal(Json(await read.Groups.AsNoTracking().OrderBy(g => g.Id).ToListAsync()), Json(loaded.Groups.OrderBy(g => g.Id)));
        Assert.Equal(Json(await read.GroupMembers.AsNoTracking().ToListAsync()), Json(loaded.Members));
    }

    [Fact]
    public async Task An_older_file_is_left_to_EF_Core_and_migrated_by_the_store()
    {
        var path = Path.Combine(_dir.FullName, "old.db");
        await using (var db = Context($"Data Source={path}"))
        {
            await db.GetService<IMigrator>().MigrateAsync(FleetSqliteStart.Migrations[0]);
        }
        Assert.Null(await FleetSqliteStart.TryLoadAsync($"Data Source={path}", CancellationToken.None));
        // Through the store, as the server starts: EF Core migrates it, and the next start takes the plain path.
        await using (var host = await FleetHost.StartAsync(dbPath: path))
        {
            await host.Devices.SetPasswordAsync("dev-old", "secret-1");
        }
        var loaded = await FleetSqliteStart.TryLoadAsync($"Data Source={path}", CancellationToken.None);
        Assert.NotNull(loaded);
        Assert.Equal("secret-1", Assert.Single(loaded.Devices).Password);
    }

    [Fact]
    public async Task A_file_EF_Core_did_not_make_is_left_to_EF_Core()
    {
        var connection = Connection("foreign.db");
        await using (var c = new SqliteConnection(connection))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE \"Other\" (\"X\" INTEGER)";
            await cmd.ExecuteNonQueryAsync();
        }
        Assert.Null(await FleetSqliteStart.TryLoadAsync(connection, CancellationToken.None));
    }

    private static string Json<T>(IEnumerable<T> rows) => JsonSerializer.Serialize(rows.ToList());

    /// <summary>Tables, indexes and their SQL, the migrations applied and the journal mode.</summary>
    private static async Task<string> DescribeAsync(string connection)
    {
        await using var c = new SqliteConnection(connection);
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        var lines = new List<string>();
        // EF Core's migration lock table exists only while (or after) EF Core migrated; it holds nothing.
        cmd.CommandText = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE '__EFMigrationsLock%' ORDER BY name; SELECT \"MigrationId\" || ' ' || \"ProductVersion\" FROM \"__EFMigrationsHistory\" ORDER BY 1; PRAGMA journal_mode;";
        await using var r = await cmd.ExecuteReaderAsync();
        do
        {
            while (await r.ReadAsync())
            {
                lines.Add(string.Join(" | ", Enumerable.Range(0, r.FieldCount).Select(i => r.IsDBNull(i) ? "null" : r.GetValue(i).ToString())));
            }
        }
        while (await r.NextResultAsync());
        return string.Join('\n', lines);
    }
}
