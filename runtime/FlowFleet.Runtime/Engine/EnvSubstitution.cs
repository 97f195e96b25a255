using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FlowFleet.Runtime.Engine;

/// <summary>
/// Node-RED replaces a string property that is exactly <c>${NAME}</c> with that environment value when the node is
/// created. Returns the config itself when nothing matches, else a copy.
/// </summary>
internal static partial class EnvSubstitution
{
    public static JsonObject Apply(JsonObject config, Func<string, string?> env)
    {
        if (!Contains(config))
        {
            return config;
        }
        var copy = (JsonObject)config.DeepClone();
        Replace(copy, env);
        return copy;
    }

    private static bool Contains(JsonNode? node) => node switch
    {
        JsonObject o => o.Any(kv => kv.Key != "wires" && Contains(kv.Value)),
        JsonArray a => a.Any(Contains),
        JsonValue v => v.TryGetValue<string>(out var s) && s.Length > 3 && s[0] == '$' && WholeVar().IsMatch(s),
        _ => false,
    };

    private static void Replace(JsonNode? node, Func<string, string?> env)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(kv => kv.Key).ToList())
                {
                    if (o[key] is JsonValue v && v.TryGetValue<string>(out var s) && WholeVar().Match(s) is { Success: true } m)
                    {
                        o[key] = env(m.Groups[1].Value) ?? "";
                    }
                    else
                    {
                        Replace(o[key], env);
                    }
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonValue v && v.TryGetValue<string>(out var s) && WholeVar().Match(s) is { Success: true } m)
                    {
                        a[i] = env(m.Groups[1].Value) ?? "";
                    }
                    else
                    {
                        Replace(a[i], env);
                    }
                }
                break;
        }
    }

    [GeneratedRegex(@"^\$\{([0-9a-zA-Z_]+)\}$")]
    private static partial Regex WholeVar();
}
