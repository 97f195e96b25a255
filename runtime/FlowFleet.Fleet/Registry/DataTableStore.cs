using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;

namespace FlowFleet.Fleet.Registry;

/// <summary>Data tables in the fleet database's <c>DataRows</c> table, one row written per call.</summary>
public sealed class DataTableStore(IDbContextFactory<FleetDbContext> dbFactory) : IDataTableStore
{
    public async Task<long> InsertRowAsync(string table, JsonNode row, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (string.IsNullOrWhiteSpace(table) || table.Length > 64)
        {
            throw new ArgumentException("Table names are 1-64 characters");
        }
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var r = new DataRowRecord { Table = table, Json = row.ToJsonString(), Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        db.DataRows.Add(r);
        await db.SaveChangesAsync(ct);
        return r.Id;
    }

    public async Task<IReadOnlyList<DataRowRecord>> RowsAsync(string table, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.DataRows.AsNoTracking().Where(r => r.Table == table).OrderByDescending(r => r.Id).Take(Math.Clamp(limit, 1, 10_000)).ToListAsync(ct);
    }
}
