using System.Runtime.InteropServices;

namespace FlowFleet.Server.Tests.Hosting;

/// <summary>
/// The published image's composite is chosen by name (runtime/FlowFleet.Server/ReadyToRunComposite.txt): a name that no
/// longer exists — a package dropped, a framework assembly renamed — would silently leave its code out of the composite.
/// </summary>
public sealed class ReadyToRunCompositeListTests
{
    [Fact]
    public void Every_assembly_the_composite_names_is_one_the_server_ships_or_the_framework_has()
    {
        var list = File.ReadAllLines(Path.Combine(CommsAndHttpTests.RepoRoot(), "runtime", "FlowFleet.Server", "ReadyToRunComposite.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        // The server's own, its packages' (copied beside these tests) and the two shared frameworks it runs on.
        var runtimeDir = RuntimeEnvironment.GetRuntimeDirectory();
        var version = Path.TrimEndingDirectorySeparator(runtimeDir);
        var aspnetDir = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(version))!, "Microsoft.AspNetCore.App", Path.GetFileName(version));
        string[] places = [AppContext.BaseDirectory, runtimeDir, aspnetDir];

        Assert.Contains("System.Private.CoreLib.dll", list);
        Assert.Contains("flowfleet.dll", list);
        Assert.Equal(list.Count, list.Distinct(StringComparer.Ordinal).Count());
        var unknown = list.Where(name => !name.EndsWith(".dll", StringComparison.Ordinal) || !places.Any(p => File.Exists(Path.Combine(p, name)))).ToList();
        Assert.True(unknown.Count == 0, "not an assembly the server ships or runs on: " + string.Join(", ", unknown));
    }
}
