using System.Reflection;
using System.Runtime.Loader;

namespace FlowFleet.Runtime.Plugins;

/// <summary>
/// Loads a plugin assembly and its private dependencies from the plugin's folder; anything the host already has
/// (FlowFleet's contracts, the framework) comes from the host so types are shared.
/// </summary>
internal sealed class PluginLoadContext(string mainAssemblyPath) : AssemblyLoadContext(Path.GetFileNameWithoutExtension(mainAssemblyPath), isCollectible: false)
{
    private readonly AssemblyDependencyResolver _resolver = new(mainAssemblyPath);

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (Default.Assemblies.Any(a => AssemblyName.ReferenceMatchesDefinition(a.GetName(), assemblyName)) ||
            assemblyName.Name?.StartsWith("FlowFleet.", StringComparison.Ordinal) == true && assemblyName.Name != Name)
        {
            return null;
        }
        var path = _resolver.ResolveAssemblyToPath(assemblyName);
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }
}
