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
    public static void Configure(IServiceProvider services, DbContextOptionsBuilder options, string dataDir)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        if (services.GetService<ClusterStore>() is { } shared)
        {
            options.UseNpgsql(shared.Db).ReplaceService<IModelCustomizer, ServerPostgresModel>();
        }
        else
        {
            options.UseSqlite($"Data Source={Path.Combine(Path.GetFullPath(dataDir), "flowfleet.db")}");
        }
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
