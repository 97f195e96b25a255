using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Runtime.Plugins;

/// <summary>What a plugin folder held: the node types it added, or why it was skipped.</summary>
public sealed record PluginInfo(string Name, string Kind, IReadOnlyList<string> NodeTypes, string? Error);

/// <summary>
/// Scans <c>plugins/</c>: each folder holds either a .NET assembly with node types (named like the folder, found at the
/// top or under <c>bin/</c>) loaded in its own load context, or a <c>plugin.json</c> manifest with a JavaScript node type.
/// A broken plugin is reported and skipped; the others still load.
/// </summary>
public static class PluginLoader
{
    public static IReadOnlyList<PluginInfo> LoadAll(string pluginsDirectory, NodeRegistry registry, FlowEngineOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        var result = new List<PluginInfo>();
        if (!Directory.Exists(pluginsDirectory))
        {
            return result;
        }
        foreach (var dir in Directory.GetDirectories(pluginsDirectory).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            PluginInfo info;
            try
            {
                info = File.Exists(Path.Combine(dir, "plugin.json"))
                    ? LoadJs(dir, name, registry, options)
                    : LoadAssembly(dir, name, registry);
            }
#pragma warning disable CA1031 // One broken plugin must not stop the others or the server.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                info = new PluginInfo(name, "unknown", [], ex.Message);
            }
            if (info.Error is not null)
            {
                logger?.LogWarning("Plugin {Name} skipped: {Error}", name, info.Error);
            }
            else
            {
                logger?.LogInformation("Plugin {Name} ({Kind}) added {Types}", name, info.Kind, string.Join(", ", info.NodeTypes));
            }
            result.Add(info);
        }
        return result;
    }

    private static PluginInfo LoadAssembly(string dir, string name, NodeRegistry registry)
    {
        var candidates = Directory.GetFiles(dir, name + ".dll", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !p.Contains($"{Path.DirectorySeparatorChar}ref{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .ToList();
        if (candidates.Count == 0)
        {
            return new PluginInfo(name, "dotnet", [], $"no plugin.json and no {name}.dll (build it first)");
        }
        var context = new PluginLoadContext(candidates[0]);
        var assembly = context.LoadFromAssemblyPath(candidates[0]);
        var before = registry.All.Select(d => d.Type).ToHashSet(StringComparer.Ordinal);
        registry.RegisterAssembly(assembly, name);
        var added = registry.All.Select(d => d.Type).Where(t => !before.Contains(t)).ToList();
        return new PluginInfo(name, "dotnet", added, added.Count == 0 ? "the assembly declares no node types" : null);
    }

    private static PluginInfo LoadJs(string dir, string name, NodeRegistry registry, FlowEngineOptions options)
    {
        JsonObject manifest;
        try
        {
            manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "plugin.json"))) as JsonObject
                ?? throw new InvalidDataException("plugin.json must hold an object");
        }
        catch (JsonException ex)
        {
            return new PluginInfo(name, "javascript", [], "plugin.json is not valid JSON: " + ex.Message);
        }
        var type = manifest["type"]?.GetValue<string>() ?? throw new InvalidDataException("plugin.json has no \"type\"");
        var scriptFile = Path.Combine(dir, manifest["script"]?.GetValue<string>() ?? "node.js");
        var code = File.ReadAllText(scriptFile);
        var outputs = (int)Messages.JsonTools.ToNumber(manifest["outputs"] ?? JsonValue.Create(1));
        var outputsProperty = manifest["outputsProperty"]?.GetValue<string>();
        registry.Register(EditorHints.Checked(new NodeDescriptor
        {
            Type = type,
            Category = manifest["category"]?.GetValue<string>() ?? "function",
            Inputs = (int)Messages.JsonTools.ToNumber(manifest["inputs"] ?? JsonValue.Create(1)),
            Outputs = outputs,
            Color = manifest["color"]?.GetValue<string>() ?? "#e2d96e",
            Icon = manifest["icon"]?.GetValue<string>() ?? "extension",
            PaletteLabel = manifest["paletteLabel"]?.GetValue<string>(),
            LabelProperty = manifest["labelProperty"]?.GetValue<string>(),
            OutputsProperty = outputsProperty,
            Button = ManifestButton(manifest["button"], type),
            Help = manifest["help"]?.GetValue<string>(),
            Module = name,
            Properties = ManifestProperties(manifest["properties"] as JsonObject),
            // A type whose output count varies per node (one per rule) runs with the count the editor stored in the node.
            Create = ctx => new JsPluginNode(ctx.Host, ctx.Config, code,
                outputsProperty is not null && ctx.Config[outputsProperty] is JsonValue n ? Math.Max(0, (int)Messages.JsonTools.ToNumber(n)) : outputs, options.Scripts) { Node = ctx.Host },
        }));
        return new PluginInfo(name, "javascript", [type], null);
    }

    /// <summary>The editor hints of a manifest's properties: the same names as <see cref="NodePropertyAttribute"/>'s, checked the same way.</summary>
    private static List<PropertyDescriptor> ManifestProperties(JsonObject? props)
    {
        var properties = new List<PropertyDescriptor>();
        foreach (var (key, value) in props ?? [])
        {
            string? Text(string field) => value?[field]?.GetValue<string>();
            List<string> List(string field) => value?[field] is JsonArray a ? a.Select(x => x!.GetValue<string>()).ToList() : [];
            var rules = EditorHints.Parse(Text("rules"), RuleList.None, $"plugin.json property '{key}' rules");
            properties.Add(new PropertyDescriptor(key, value?["default"]?.DeepClone(), value?["required"]?.GetValue<bool>() ?? false,
                EditorHints.Ui(Text("ui"), rules, $"plugin.json property '{key}'"), Text("label"), List("options"), Text("typeProperty"),
                List("types"), Text("configType"), Text("language"), false, Text("help"), rules, value?["outputPerRule"]?.GetValue<bool>() ?? false));
        }
        return properties;
    }

    /// <summary><c>"button": "trigger"</c>, or <c>{"kind": "toggle", "property": "active"}</c>.</summary>
    private static NodeButton ManifestButton(JsonNode? button, string type) => button switch
    {
        null => NodeButton.None,
        JsonValue v => EditorHints.Button(EditorHints.Parse(v.GetValue<string>(), NodeButtonKind.None, "plugin.json button"), null, type),
        JsonObject o => EditorHints.Button(EditorHints.Parse(o["kind"]?.GetValue<string>(), NodeButtonKind.None, "plugin.json button kind"),
            o["property"]?.GetValue<string>(), type),
        _ => throw new InvalidDataException("plugin.json \"button\" must be a kind name or an object with \"kind\""),
    };
}
