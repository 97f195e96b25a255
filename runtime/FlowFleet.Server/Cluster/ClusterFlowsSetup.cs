using FlowFleet.Fleet.Cluster;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// Flows on the shared store. With <c>Storage:Provider=postgres</c> the flows, their credentials, the deploy history and
/// the Data Protection keys live in PostgreSQL, so instances sharing the database share one flow set. With
/// <c>Cluster:Nats</c> too, deploys are announced to the other instances and scheduled nodes take leases. Without
/// PostgreSQL nothing changes: <c>data/flows.json</c>, <c>flows_cred.json</c>, <c>history.db</c>, <c>data/keys</c>.
/// </summary>
public static class ClusterFlowsSetup
{
    public static IServiceCollection AddClusterFlows(this IServiceCollection services, IConfiguration configuration, string dataDir)
    {
        if (SharedConnection(configuration) is not { } connection)
        {
            return services;
        }
        services.AddSingleton(_ => new ClusterStore(NpgsqlDataSource.Create(connection)));
        services.AddSingleton(sp => new PostgresFlowStorage(sp.GetRequiredService<ClusterStore>(), new FileFlowStorage(Path.Combine(dataDir, "flows.json")), Time(sp)));
        services.AddSingleton<IFlowStorage>(sp => sp.GetRequiredService<PostgresFlowStorage>());
        services.AddSingleton<ICredentialStore>(sp => new PostgresCredentialStore(sp.GetRequiredService<ClusterStore>(), sp.GetRequiredService<IDataProtectionProvider>()));
        services.AddSingleton<IFlowHistory>(sp => new PostgresFlowHistory(sp.GetRequiredService<ClusterStore>(), sp.GetRequiredService<IOptions<FlowHistoryOptions>>().Value, Time(sp)));
        // Persistent context stores (localfilesystem/sqlite) are shared through PostgreSQL; memory stores stay per instance.
        services.AddSingleton(sp => new PersistentContextStores((name, _) =>
            new PostgresContextStore(sp.GetRequiredService<ClusterStore>(), name, Time(sp), sp.GetRequiredService<ILogger<PostgresContextStore>>())));
        // Users and sessions are in PostgreSQL too (ServerDatabase); a change through one instance closes sockets on all.
        services.AddSingleton<ClusterSessions>();
        // Login attempts are counted by every instance (guesses spread over the instances are slowed as on one).
        services.AddSingleton<SharedLogins>();
        // Registered after PersistKeysToFileSystem, so this repository is the one used.
        services.AddOptions<KeyManagementOptions>().Configure<ClusterStore>((o, store) => o.XmlRepository = new PostgresKeyRing(store));
        if (string.IsNullOrWhiteSpace(configuration["Cluster:Nats"]))
        {
            return services;
        }
        services.Configure<ClusterFlowOptions>(configuration.GetSection("Cluster"));
        services.AddSingleton(sp =>
        {
            var cluster = sp.GetRequiredService<NatsCluster>();
            var o = sp.GetRequiredService<IOptions<ClusterFlowOptions>>().Value;
            return new PostgresLeases(sp.GetRequiredService<ClusterStore>(), cluster.Instance, sp.GetRequiredService<IOptions<ClusterOptions>>().Value.Subject + ":",
                TimeSpan.FromSeconds(Math.Max(0.3, o.LeaseSeconds)), Time(sp), sp.GetRequiredService<ILogger<PostgresLeases>>());
        });
        services.AddSingleton<IClusterLeases>(sp => sp.GetRequiredService<PostgresLeases>());
        services.AddSingleton(sp => new ClusterFlows(sp.GetRequiredService<FlowService>(), sp.GetRequiredService<PostgresFlowStorage>(), sp.GetRequiredService<NatsCluster>(),
            sp.GetRequiredService<IOptions<ClusterOptions>>(), sp.GetRequiredService<IOptions<ClusterFlowOptions>>(), Time(sp), sp.GetRequiredService<ILogger<ClusterFlows>>()));
        services.AddHostedService(sp => sp.GetRequiredService<ClusterFlows>());
        services.AddHostedService<ClusterRegistry>();
        return services;
    }

    /// <summary>The PostgreSQL connection string when it is the store (<c>Storage:Provider=postgres</c>), else null.</summary>
    public static string? SharedConnection(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var provider = configuration["Storage:Provider"] ?? "sqlite";
        var connection = configuration["Storage:ConnectionString"] ?? configuration.GetConnectionString("FlowFleet");
        return (provider.Equals("postgres", StringComparison.OrdinalIgnoreCase) || provider.Equals("postgresql", StringComparison.OrdinalIgnoreCase))
            && !string.IsNullOrWhiteSpace(connection) ? connection : null;
    }

    private static TimeProvider Time(IServiceProvider sp) => sp.GetService<TimeProvider>() ?? TimeProvider.System;
}
