using FlowFleet.Server.Cluster;

namespace FlowFleet.Server.Auth;

/// <summary>
/// Where users and sessions (API tokens, cookie sessions) live: <c>data/flowfleet.db</c> (SQLite) by default, or the shared
/// PostgreSQL with <c>Storage:Provider=postgres</c>, so a login or a token made through one instance of a cluster works on
/// all of them, and a password change, deletion or revocation through one ends the sessions on all of them. On PostgreSQL
/// the tables are <c>ff_users</c> and <c>ff_tokens</c>, created with the cluster's other tables. Both through
/// <see cref="UserStore"/>'s plain SQL.
/// </summary>
public static class ServerDatabase
{
    /// <summary>Registers the users store: SQLite in <paramref name="dataDir"/>, or PostgreSQL when a <see cref="ClusterStore"/> is registered.</summary>
    public static IServiceCollection AddServerDatabase(this IServiceCollection services, string dataDir)
    {
        var sqlite = $"Data Source={Path.Combine(Path.GetFullPath(dataDir), "flowfleet.db")}";
        return services.AddSingleton(sp => sp.GetService<ClusterStore>() is { } shared ? UserStore.Postgres(shared) : UserStore.Sqlite(sqlite));
    }

    /// <summary>Creates or upgrades the tables: SQLite's file here, PostgreSQL's tables with the cluster's others.</summary>
    public static async Task EnsureAsync(IServiceProvider services, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GetService<ClusterStore>() is { } shared)
        {
            await shared.EnsureSchemaAsync(ct);
            return;
        }
        await ServerSqliteStart.EnsureSchemaAsync(services.GetRequiredService<UserStore>().SqliteConnectionString!, ct);
    }
}
