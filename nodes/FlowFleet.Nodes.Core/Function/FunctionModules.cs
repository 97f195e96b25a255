using System.Text.Json.Nodes;
using FlowFleet.Runtime.Scripting;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>A function node's <c>libs</c> (Node-RED's "Setup → Modules"): which modules, under which variable names.</summary>
internal static class FunctionModules
{
    /// <summary>The entries with a variable name, as variable → module (Node-RED skips entries without one).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Read(JsonArray? libs) =>
        (libs ?? []).OfType<JsonObject>()
            .Select(l => new KeyValuePair<string, string>(Text(l["var"]), Text(l["module"])))
            .Where(kv => kv.Key.Length > 0)
            .ToList();

    /// <summary>What is wrong with the entries, each in Node-RED's words (a reserved variable name, a module that cannot load).</summary>
    public static IReadOnlyList<string> Errors(IReadOnlyList<KeyValuePair<string, string>> modules)
    {
        var errors = new List<string>();
        foreach (var (name, module) in modules)
        {
            if (ScriptModules.ReservedNames.Contains(name))
            {
                errors.Add("Invalid module variable name: " + name);
            }
            else if (module.Length > 0 && ScriptModules.LoadError(module) is { } error)
            {
                errors.Add($"Failed to load module {module}: {error}");
            }
        }
        return errors;
    }

    private static string Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s.Trim() : "";
}
