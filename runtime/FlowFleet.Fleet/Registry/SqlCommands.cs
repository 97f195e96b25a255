using System.Data.Common;

namespace FlowFleet.Fleet.Registry;

/// <summary>Raw batched commands shared by the stores: the same text runs on SQLite and PostgreSQL (quoted names, @parameters).</summary>
internal static class SqlCommands
{
    // SQLite compiles a statement once for the whole batch; Npgsql can't prepare parameters that have no value (and type) yet.
    public static Task PrepareAsync(DbCommand cmd, CancellationToken ct) =>
        cmd is Microsoft.Data.Sqlite.SqliteCommand ? cmd.PrepareAsync(ct) : Task.CompletedTask;

    public static DbParameter Parameter(DbCommand cmd, string name)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        cmd.Parameters.Add(p);
        return p;
    }
}
