using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

/// <summary>Named tables of JSON rows that flows write (the <c>db write</c> node) and <c>/api/tables</c> reads.</summary>
public interface IDataTableStore
{
    /// <summary>Adds a row to <paramref name="table"/> (1-64 characters); returns its id.</summary>
    Task<long> InsertRowAsync(string table, JsonNode row, CancellationToken ct = default);

    /// <summary>The table's newest rows first, at most <paramref name="limit"/> (1-10000).</summary>
    Task<IReadOnlyList<DataRowRecord>> RowsAsync(string table, int limit, CancellationToken ct = default);
}
