using FlowFleet.Fleet;
using FlowFleet.Fleet.Postgres;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// Where the fleet registry lives: <c>Storage:Provider</c> = <c>sqlite</c> (default, <c>data/fleet.db</c>) or <c>postgres</c>
/// with <c>Storage:ConnectionString</c> (or <c>ConnectionStrings:FlowFleet</c>) — the same model, each provider with its own
/// migrations, applied at start-up. Several instances can share one PostgreSQL (architecture: "Beyond one machine").
/// </summary>
public static class FleetStorage
{
    public static IServiceCollection AddFleetStorage(this IServiceCollection services, IConfiguration configuration, string dataDir)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var provider = configuration["Storage:Provider"] ?? "sqlite";
        switch (provider.ToLowerInvariant())
        {
            case "sqlite":
                return services.AddFleet(Path.Combine(dataDir, "fleet.db"));
            case "postgres" or "postgresql":
                var connection = configuration["Storage:ConnectionString"] ?? configuration.GetConnectionString("FlowFleet");
                if (string.IsNullOrWhiteSpace(connection))
                {
                    throw new InvalidOperationException("Storage:Provider=postgres needs Storage:ConnectionString (e.g. \"Host=db;Database=flowfleet;Username=flowfleet;Password=…\")");
                }
                return services.AddFleet(o => FleetPostgres.Configure(o, connection), FleetPostgres.Sql(connection), dataDir);
            default:
                throw new InvalidOperationException($"Storage:Provider '{provider}' is not known: use sqlite (the default) or postgres");
        }
    }
}
