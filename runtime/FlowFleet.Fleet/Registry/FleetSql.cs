using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// Plain connections to the fleet database for the device-write path (device rows, statuses, telemetry, events, audit):
/// the same quoted-name, @parameter SQL on SQLite and PostgreSQL. Not EF Core (issue 19): loaded with the first device
/// writes, EF Core's ~38 MiB of mapped code counted as memory of the fleet (~2 KiB a device at 20,000) and its change
/// tracking cost CPU per row. EF Core's migrations still own the schema; reads for the UI and admin edits of groups and
/// tokens stay on EF Core.
/// </summary>
public sealed class FleetSql
{
    private readonly Func<CancellationToken, Task<DbConnection>> _open;

    private FleetSql(Func<CancellationToken, Task<DbConnection>> open) => _open = open;

    public static FleetSql Sqlite(string connectionString) => new(async ct =>
    {
        var c = new SqliteConnection(connectionString);
        await c.OpenAsync(ct).ConfigureAwait(false);
        return c;
    });

    /// <summary>Another provider (PostgreSQL through FlowFleet.Fleet.Postgres): <paramref name="open"/> returns an open connection.</summary>
    public static FleetSql Provider(Func<CancellationToken, Task<DbConnection>> open) => new(open);

    public Task<DbConnection> OpenAsync(CancellationToken ct) => _open(ct);
}
