namespace FlowFleet.Server.Hosting;

/// <summary>What a decorator replacing a registration needs: the service the replaced registration would have made.</summary>
internal static class DecoratedService
{
    /// <summary>The (non-keyed) registration's instance, from its instance, its factory or its type.</summary>
    public static T Create<T>(IServiceProvider sp, ServiceDescriptor d) where T : class => (T)(d.ImplementationInstance
        ?? d.ImplementationFactory?.Invoke(sp)
        ?? ActivatorUtilities.CreateInstance(sp, d.ImplementationType!));
}
