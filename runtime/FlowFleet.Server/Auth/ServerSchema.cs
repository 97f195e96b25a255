using Microsoft.EntityFrameworkCore;

namespace FlowFleet.Server.Auth;

/// <summary>
/// Brings a server database created by an older FlowFleet up to the current model. The tables are created with
/// <c>EnsureCreated</c>, which leaves an existing file alone, so columns added later are added here.
/// </summary>
public static class ServerSchema
{
    private static readonly (string Table, string Column, string Definition)[] s_added =
    [
        ("Users", "SecurityStamp", "TEXT NOT NULL DEFAULT ''"),
        ("Users", "Groups", "TEXT NULL"),
        ("Tokens", "Stamp", "TEXT NOT NULL DEFAULT ''"),
    ];

    public static async Task UpgradeAsync(ServerDbContext db, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        // Table and column names come from the list above, never from input.
#pragma warning disable EF1002
        foreach (var table in s_added.Select(a => a.Table).Distinct())
        {
            var columns = await db.Database.SqlQueryRaw<string>($"SELECT name AS Value FROM pragma_table_info('{table}')").ToListAsync(ct);
            foreach (var (_, column, definition) in s_added.Where(a => a.Table == table && !columns.Contains(a.Column)))
            {
                await db.Database.ExecuteSqlRawAsync($"ALTER TABLE \"{table}\" ADD COLUMN \"{column}\" {definition}", ct);
            }
        }
#pragma warning restore EF1002
    }
}
