using System.Collections.Concurrent;
using System.Reflection;

namespace FlowFleet.Editor.Model;

/// <summary>
/// Node type icons: a descriptor's icon is a Material icon name (<c>bug_report</c>, <c>wifi</c>); the SVG comes from MudBlazor's
/// Material icon set (<c>Icons.Material.Filled.BugReport</c>). Unknown names get a neutral glyph.
/// </summary>
public static class NodeIcons
{
    private static readonly ConcurrentDictionary<string, string> s_cache = new(StringComparer.Ordinal);

    private static readonly Dictionary<string, string> s_aliases = new(StringComparer.Ordinal)
    {
        ["database"] = "Storage", ["server"] = "Dns", ["arrow-right"] = "ArrowForward",
    };

    /// <summary>SVG markup (paths for a 24×24 view box).</summary>
    public static string Svg(string? name)
    {
        return s_cache.GetOrAdd(name ?? "", static n =>
        {
            var pascal = s_aliases.TryGetValue(n, out var alias) ? alias
                : string.Concat(n.Split('_', '-').Where(p => p.Length > 0).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
            var type = typeof(MudBlazor.Icons.Material.Filled);
            static string? Get(Type t, string member) =>
                t.GetField(member, BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as string
                ?? t.GetProperty(member, BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as string;
            return Get(type, pascal) ?? Get(type, "Circle") ?? "";
        });
    }
}
