using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// EF Core's context factory built on its first use instead of when a store that holds it is constructed: the stores are
/// constructed at start-up, and EF Core's options and factory (its options extensions, the compiled constructor) cost
/// ~20 ms of CPU and ~150 JIT-compiled methods before the server answers, although the start reads without EF Core
/// (<see cref="FleetSqliteStart"/>).
/// </summary>
public sealed class LazyDbContextFactory<TContext>(Func<IDbContextFactory<TContext>> create) : IDbContextFactory<TContext>
    where TContext : DbContext
{
    private readonly Lazy<IDbContextFactory<TContext>> _factory = new(create);

    public TContext CreateDbContext() => _factory.Value.CreateDbContext();

    public Task<TContext> CreateDbContextAsync(CancellationToken cancellationToken = default) => _factory.Value.CreateDbContextAsync(cancellationToken);
}

public static class LazyDbContextFactoryExtensions
{
    /// <summary><c>AddDbContextFactory</c> whose factory is built on the first context asked for (<see cref="LazyDbContextFactory{TContext}"/>).</summary>
    public static IServiceCollection AddLazyDbContextFactory<TContext>(this IServiceCollection services, Action<IServiceProvider, DbContextOptionsBuilder> configure)
        where TContext : DbContext
    {
        services.AddDbContextFactory<TContext>(configure);
        var registered = services.Last(d => d.ServiceType == typeof(IDbContextFactory<TContext>) && !d.IsKeyedService);
        services.Remove(registered);
        Func<IServiceProvider, object> build = registered.ImplementationFactory
            ?? (registered.ImplementationInstance is { } instance ? _ => instance : sp => ActivatorUtilities.CreateInstance(sp, registered.ImplementationType!));
        services.Add(new ServiceDescriptor(typeof(IDbContextFactory<TContext>),
            sp => new LazyDbContextFactory<TContext>(() => (IDbContextFactory<TContext>)build(sp)), registered.Lifetime));
        return services;
    }
}
