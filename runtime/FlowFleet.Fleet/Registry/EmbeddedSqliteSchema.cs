using System.Reflection;
using Microsoft.Data.Sqlite;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// EF Core's own SQL for a SQLite database, embedded in an assembly and applied without EF Core when the file is new: the
/// device stores (<c>FleetSqliteStart</c>) and the users database (<c>ServerSqliteStart</c>) start this way (issue 19).
/// </summary>
public static partial class EmbeddedSqliteSchema
{
    /// <summary>The embedded script, read on first use.</summary>
    public static Lazy<string> Load(Assembly assembly, string resource) => new(() =>
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{resource} is not embedded in {assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>
    /// Runs the script when the file has no tables yet (after the WAL journal mode EF Core's SQLite database creator sets on
    /// a new file) and returns true; false when tables exist, to be checked by the caller.
    /// </summary>
    public static async Task<bool> CreateIfEmptyAsync(SqliteCommand cmd, Lazy<string> script, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(cmd);
        ArgumentNullException.ThrowIfNull(script);
        cmd.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table'";
        if ((long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))! != 0)
        {
            return false;
        }
        cmd.CommandText = "PRAGMA journal_mode = 'wal';";
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        // One transaction: each CREATE on its own was a commit, and each commit of a WAL file an fsync (four to six of them
        // per file on a first start, on the start's critical path: bench/README.md, issue 19). A migrations script's own
        // transactions (one per migration) are folded into it.
        cmd.CommandText = "BEGIN IMMEDIATE;\n" + OwnTransactions().Replace(script.Value, "") + "\nCOMMIT;";
        try
        {
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            // A failed statement leaves the transaction open on a connection that may go back to the pool.
            cmd.CommandText = "ROLLBACK";
            try
            {
                await cmd.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (SqliteException)
            {
                // No transaction was left open (BEGIN itself failed): nothing to undo.
            }
            throw;
        }
        return true;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(BEGIN TRANSACTION|COMMIT);[ \t]*\r?$", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex OwnTransactions();
}
