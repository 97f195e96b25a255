using System.Reflection;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowFleet.Runtime;

public static class RuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Registers the flow engine: registry (filled with the node assemblies given, each under its module name, then by
    /// <paramref name="extend"/>, e.g. plugins), events, contexts and the engine. This is the one place the registry is
    /// built. <paramref name="dataDirectory"/> anchors relative SQLite context paths.
    /// </summary>
    public static IServiceCollection AddFlowRuntime(this IServiceCollection services, string dataDirectory, params Assembly[] nodeAssemblies) =>
        AddFlowRuntime(services, dataDirectory, nodeAssemblies, extend: null);

    public static IServiceCollection AddFlowRuntime(this IServiceCollection services, string dataDirectory, Assembly[] nodeAssemblies,
        Action<NodeRegistry, IServiceProvider>? extend)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(nodeAssemblies);
        services.AddOptions<FlowEngineOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FlowEngineOptions>, FlowEngineOptionsValidator>());
        services.TryAddSingleton(sp =>
        {
            var registry = new NodeRegistry();
            foreach (var a in nodeAssemblies)
            {
                registry.RegisterAssembly(a);
            }
            extend?.Invoke(registry, sp);
            return registry;
        });
        services.TryAddSingleton<FlowEvents>();
        services.TryAddSingleton(sp => CreateContexts(sp.GetRequiredService<IOptions<FlowEngineOptions>>().Value, dataDirectory, sp.GetService<PersistentContextStores>()));
        services.TryAddSingleton(sp => new FlowEngine(sp.GetRequiredService<NodeRegistry>(), sp, sp.GetRequiredService<ContextManager>(),
            sp.GetRequiredService<FlowEvents>(), sp.GetRequiredService<IOptions<FlowEngineOptions>>(), sp.GetService<ILoggerFactory>()));
        return services;
    }

    /// <summary>
    /// The configured context stores. Persistent ones (<c>sqlite</c>, <c>localfilesystem</c>) are SQLite files under
    /// <paramref name="dataDirectory"/>, unless the host gives <paramref name="persistent"/> (a cluster's shared store).
    /// </summary>
    public static ContextManager CreateContexts(FlowEngineOptions options, string dataDirectory, PersistentContextStores? persistent = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var stores = new Dictionary<string, IContextStore>(StringComparer.Ordinal);
        foreach (var (name, o) in options.ContextStorage)
        {
            stores[name] = o.Module.ToLowerInvariant() switch
            {
                "memory" => new MemoryContextStore(),
                "sqlite" or "localfilesystem" => persistent?.Create(name, o) ?? new SqliteContextStore(
                    Path.Combine(dataDirectory, o.Path ?? "context.db"), o.FlushInterval),
                _ => throw new InvalidOperationException($"Unknown context store module '{o.Module}' for store '{name}'"),
            };
        }
        return new ContextManager(stores, stores.ContainsKey("default") ? "default" : null, options.ContextLimits);
    }
}

/// <summary>
/// Registered by a host whose persistent context lives elsewhere than in SQLite files (PostgreSQL in a cluster, so every
/// instance shares it): builds the store for a store name and its options.
/// </summary>
public sealed class PersistentContextStores(Func<string, ContextStoreOptions, IContextStore> create)
{
    public IContextStore Create(string name, ContextStoreOptions options) => create(name, options);
}
