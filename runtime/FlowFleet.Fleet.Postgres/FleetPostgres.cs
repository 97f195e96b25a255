using FlowFleet.Fleet.Registry;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Npgsql;

namespace FlowFleet.Fleet.Postgres;

/// <summary>
/// The fleet registry on PostgreSQL (<c>Storage:Provider=postgres</c>, <c>Storage:ConnectionString</c>): the same
/// <see cref="FleetDbContext"/> model as SQLite; its migrations live in this assembly (EF's pattern of one migrations
/// assembly per provider), so each provider upgrades its own schema.
/// </summary>
public static class FleetPostgres
{
    public static void Configure(DbContextOptionsBuilder options, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.UseNpgsql(connectionString, o => o.MigrationsAssembly(typeof(FleetPostgres).Assembly.GetName().Name))
            .ReplaceService<IModelCustomizer, UtcModelCustomizer>();
    }

    /// <summary>Plain Npgsql connections for the device-write path (<see cref="FleetSql"/>), from the pool EF Core's share.</summary>
    public static FleetSql Sql(string connectionString) => FleetSql.Provider(async ct =>
    {
        var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync(ct).ConfigureAwait(false);
        return c;
    });
}

/// <summary>
/// The model's DateTimes are UTC (as SQLite stores them, without a kind); PostgreSQL's <c>timestamp with time zone</c>
/// takes only UTC-kinded values, so an unset (<c>Unspecified</c>) one is written as UTC and every value read is UTC.
/// </summary>
public sealed class UtcModelCustomizer(ModelCustomizerDependencies dependencies) : RelationalModelCustomizer(dependencies)
{
    private static readonly ValueConverter<DateTime, DateTime> s_utc = new(
        v => v.Kind == DateTimeKind.Utc ? v : v.Kind == DateTimeKind.Local ? v.ToUniversalTime() : DateTime.SpecifyKind(v, DateTimeKind.Utc),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    public override void Customize(ModelBuilder modelBuilder, DbContext context)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        base.Customize(modelBuilder, context);
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(e => e.GetProperties()).Where(p => p.ClrType == typeof(DateTime)))
        {
            property.SetValueConverter(s_utc);
        }
    }
}

/// <summary>Lets <c>dotnet ef migrations add --project runtime/FlowFleet.Fleet.Postgres</c> build the context at design time.</summary>
public sealed class FleetPostgresDesignFactory : IDesignTimeDbContextFactory<FleetDbContext>
{
    public FleetDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<FleetDbContext>();
        FleetPostgres.Configure(builder, "Host=localhost;Database=flowfleet_design");
        return new FleetDbContext(builder.Options);
    }
}
