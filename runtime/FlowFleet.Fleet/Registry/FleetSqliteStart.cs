using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// The registry's start on SQLite without EF Core (issue 19): the first EF Core context of a process costs ~200–400 ms of
/// CPU (its service provider, the model, query compilation) before the server can answer. When the file is new, or its
/// <c>__EFMigrationsHistory</c> lists exactly this build's migrations, the schema is created or found current and the devices
/// and groups are read with plain SQL; anything else (an older file to upgrade, a file EF Core did not create) returns null
/// and the caller takes EF Core's path (<c>MigrateAsync</c>). EF Core is then built on the first write, not at start.
/// </summary>
internal static partial class FleetSqliteStart
{
    /// <summary>
    /// EF Core's migration script for SQLite (<c>dotnet ef migrations script</c> in runtime/FlowFleet.Fleet), held equal to the
    /// migrations by <c>FleetSqliteStartTests</c>: a new migration fails that test until this file is generated again.
    /// </summary>
    internal static readonly Lazy<string> Script = EmbeddedSqliteSchema.Load(typeof(FleetSqliteStart).Assembly, "FlowFleet.Fleet.FleetSqlite.sql");

    /// <summary>The migrations the script applies, in order (from its history inserts).</summary>
    internal static IReadOnlyList<string> Migrations => [.. MigrationId().Matches(Script.Value).Select(m => m.Groups[1].Value)];

    /// <summary>The device columns read at start, in <see cref="Read"/>'s order (a test holds them equal to the model's).</summary>
    internal static readonly string[] DeviceColumns =
    [
        "Id", "Name", "Model", "App", "Gen", "Mac", "FirmwareVersion", "Ip", "Admission", "InfoJson", "ConfigJson", "StatusJson",
        "DesiredJson", "MethodsJson", "Tags", "Password", "TokenHash", "BoundAddress", "Transport", "FirstSeen", "LastSeen",
    ];

    internal sealed record Loaded(List<DeviceRecord> Devices, List<GroupRecord> Groups, List<GroupMemberRecord> Members);

    /// <summary>Creates the schema of a new file, or finds it current, and reads devices and groups; null: use EF Core.</summary>
    public static async Task<Loaded?> TryLoadAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        if (!await EnsureSchemaAsync(connection, ct).ConfigureAwait(false))
        {
            return null;
        }
        var devices = new List<DeviceRecord>();
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = $"SELECT {string.Join(", ", DeviceColumns.Select(c => $"\"{c}\""))} FROM \"Devices\"";
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                devices.Add(Read(r));
            }
        }
        var groups = new List<GroupRecord>();
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT \"Id\", \"Name\", \"Description\" FROM \"Groups\"";
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                groups.Add(new GroupRecord { Id = r.GetInt32(0), Name = r.GetString(1), Description = r.IsDBNull(2) ? null : r.GetString(2) });
            }
        }
        var members = new List<GroupMemberRecord>();
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT \"GroupId\", \"DeviceId\" FROM \"GroupMembers\"";
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                members.Add(new GroupMemberRecord { GroupId = r.GetInt32(0), DeviceId = r.GetString(1) });
            }
        }
        return new Loaded(devices, groups, members);
    }

    /// <summary>True when the schema is this build's: created here on an empty file, or already migrated to the last migration.</summary>
    private static async Task<bool> EnsureSchemaAsync(SqliteConnection connection, CancellationToken ct)
    {
        await using var cmd = connection.CreateCommand();
        if (await EmbeddedSqliteSchema.CreateIfEmptyAsync(cmd, Script, ct).ConfigureAwait(false))
        {
            return true;
        }
        cmd.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '__EFMigrationsHistory'";
        if ((long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))! == 0)
        {
            return false;
        }
        cmd.CommandText = "SELECT \"MigrationId\" FROM \"__EFMigrationsHistory\" ORDER BY \"MigrationId\"";
        var applied = new List<string>();
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                applied.Add(r.GetString(0));
            }
        }
        return applied.SequenceEqual(Migrations, StringComparer.Ordinal);
    }

    private static DeviceRecord Read(SqliteDataReader r) => new()
    {
        Id = r.GetString(0), Name = Text(r, 1), Model = Text(r, 2), App = Text(r, 3), Gen = r.GetInt32(4), Mac = Text(r, 5),
        FirmwareVersion = Text(r, 6), Ip = Text(r, 7), Admission = r.GetString(8), InfoJson = Text(r, 9), ConfigJson = Text(r, 10),
        StatusJson = Text(r, 11), DesiredJson = Text(r, 12), MethodsJson = Text(r, 13), Tags = r.GetString(14), Password = Text(r, 15),
        TokenHash = Text(r, 16), BoundAddress = Text(r, 17), Transport = Text(r, 18), FirstSeen = r.GetDateTime(19), LastSeen = r.GetDateTime(20),
    };

    private static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    [GeneratedRegex("""VALUES \('([^']+)', '""")]
    private static partial Regex MigrationId();
}

/// <summary>The registry is on this SQLite database (<c>AddFleet(path)</c>): its start can take <see cref="FleetSqliteStart"/>.</summary>
public sealed record FleetSqliteDatabase(string ConnectionString);
