using Npgsql;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// The shared PostgreSQL store of what the instances of a cluster run (<c>Storage:Provider=postgres</c>): the deployed flow
/// set and its credentials, the deploy history, leases of scheduled nodes, the Data Protection key ring (so credentials and
/// login cookies made by one instance are read by the others) and persistent context. Plain tables beside the registry's
/// EF model: they are PostgreSQL-only (SQLite keeps its files), created if missing under an advisory lock, so instances
/// starting together don't race on <c>CREATE TABLE</c>.
/// </summary>
public sealed class ClusterStore(NpgsqlDataSource db)
{
    // Any constant: the advisory lock that serialises schema creation between instances.
    private const long SchemaLock = 0x466c6f77466c74;

    private readonly Lazy<Task> _schema = new(() => CreateAsync(db));

    public NpgsqlDataSource Db => db;

    /// <summary>Opens a connection once the tables exist.</summary>
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken ct = default)
    {
        await _schema.Value.WaitAsync(ct).ConfigureAwait(false);
        return await db.OpenConnectionAsync(ct).ConfigureAwait(false);
    }

    /// <summary>A command with positional parameters (<c>$1</c>, <c>$2</c>…).</summary>
    public static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object?[] args)
    {
        var cmd = new NpgsqlCommand(sql, connection);
        foreach (var a in args)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = a ?? DBNull.Value });
        }
        return cmd;
    }

    private static async Task CreateAsync(NpgsqlDataSource db)
    {
        await using var connection = await db.OpenConnectionAsync().ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync().ConfigureAwait(false);
        await using (var cmd = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({SchemaLock});
            CREATE TABLE IF NOT EXISTS ff_flows (id int PRIMARY KEY, rev text NOT NULL, flows text NOT NULL, saved_at timestamptz NOT NULL);
            CREATE TABLE IF NOT EXISTS ff_flow_credentials (id int PRIMARY KEY, data text NOT NULL);
            CREATE TABLE IF NOT EXISTS ff_flow_history (
                version bigserial PRIMARY KEY, rev text NOT NULL, deployed_at timestamptz NOT NULL, "user" text, type text NOT NULL,
                message text, restored_from bigint, nodes int NOT NULL, tabs int NOT NULL, flows bytea NOT NULL);
            CREATE INDEX IF NOT EXISTS ff_flow_history_rev ON ff_flow_history(rev);
            CREATE TABLE IF NOT EXISTS ff_leases (name text PRIMARY KEY, holder text NOT NULL, expires_at timestamptz NOT NULL);
            CREATE TABLE IF NOT EXISTS ff_keys (name text PRIMARY KEY, xml text NOT NULL);
            CREATE TABLE IF NOT EXISTS ff_context (store text NOT NULL, scope text NOT NULL, key text NOT NULL, value text NOT NULL,
                PRIMARY KEY (store, scope, key));
            -- Context rows carry the version of their last write (a deleted key keeps its row with a null value, so a
            -- late notice can't bring it back); ff_context existed unused before, hence the ALTERs.
            CREATE SEQUENCE IF NOT EXISTS ff_context_version;
            ALTER TABLE ff_context ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0;
            ALTER TABLE ff_context ALTER COLUMN value DROP NOT NULL;
            """, connection, tx))
        {
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        await tx.CommitAsync().ConfigureAwait(false);
    }
}
