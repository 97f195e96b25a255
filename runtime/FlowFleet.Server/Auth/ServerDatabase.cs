using FlowFleet.Fleet.Registry;
using FlowFleet.Server.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace FlowFleet.Server.Auth;

/// <summary>
/// Where users and sessions (API tokens, cookie sessions) live: <c>data/flowfleet.db</c> (SQLite) by default, or the shared
/// PostgreSQL with <c>Storage:Provider=postgres</c>, so a login or a token made through one instance of a cluster works on
/// all of them, and a password change, deletion or revocation through one ends the sessions on all of them. On PostgreSQL
/// the same model maps to <c>ff_users</c> and <c>ff_tokens</c>, created with the cluster's other tables.
/// </summary>
public static class ServerDatabase
{
    /// <summary>Registers the users database: SQLite in <paramref name="dataDir"/>, or PostgreSQL when a <see cref="ClusterStore"/> is registered.</summary>
    public static IServiceCollection AddServerDatabase(this IServiceCollection services, string dataDir)
    {
        var sqlite = new ServerSqliteDatabase($"Data Source={Path.Combine(Path.GetFullPath(dataDir), "flowfleet.db")}");
        services.AddSingleton(sqlite);
        return services.AddLazyDbContextFactory<ServerDbContext>((sp, o) =>
        {
            if (sp.GetService<ClusterStore>() is { } shared)
            {
                o.UseNpgsql(shared.Db).ReplaceService<IModelCustomizer, ServerPostgresModel>();
            }
            else
            {
                o.UseSqlite(sqlite.ConnectionString);
            }
        });
    }

    /// <summary>The SQLite connection string when users live in SQLite (no cluster store), else null.</summary>
    public static string? Sqlite(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetService<ClusterStore>() is null ? services.GetService<ServerSqliteDatabase>()?.ConnectionString : null;
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
        if (Sqlite(services) is { } sqlite && await ServerSqliteStart.TryEnsureSchemaAsync(sqlite, ct))
        {
            return;
        }
        var factory = services.GetRequiredService<IDbContextFactory<ServerDbContext>>();
        await using var db = await factory.CreateDbContextAsync(ct);
        await db.Database.EnsureCreatedAsync(ct);
        await ServerSchema.UpgradeAsync(db, ct);
    }
}

/// <summary>The server's model on PostgreSQL: its tables carry the cluster's <c>ff_</c> prefix beside the registry's.</summary>
public sealed class ServerPostgresModel(ModelCustomizerDependencies dependencies) : RelationalModelCustomizer(dependencies)
{
    public override void Customize(ModelBuilder modelBuilder, DbContext context)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        base.Customize(modelBuilder, context);
        modelBuilder.Entity<UserAccount>().ToTable("ff_users");
        modelBuilder.Entity<ApiToken>().ToTable("ff_tokens");
    }
}
