using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Scripting.Jsonata;

namespace FlowFleet.Runtime.Messages;

/// <summary>Node-RED's typed inputs: a value plus a type (<c>str num bool json msg flow global env date bin re</c>).</summary>
public static partial class TypedInput
{
    public static readonly IReadOnlyList<string> AllTypes = ["msg", "flow", "global", "str", "num", "bool", "json", "bin", "re", "date", "env"];

    /// <summary>Splits a context reference <c>#:(store)::key</c> into store and key.</summary>
    public static (string? Store, string Key) ParseContextKey(string text)
    {
        var m = ContextKeyRegex().Match(text);
        return m.Success ? (m.Groups[1].Value, m.Groups[2].Value) : (null, text);
    }

    public static JsonNode? Evaluate(string? type, JsonNode? value, FlowMessage? msg, INodeHost node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var text = value is null ? "" : JsonTools.ToJsString(value);
        switch (type ?? "str")
        {
            case "str":
                return JsonValue.Create(text);
            case "num":
                return JsonTools.IsNumber(value, out var n) ? JsonTools.Number(n) : JsonTools.Number(JsonTools.StringToNumber(text));
            case "bool":
                return JsonValue.Create(value is JsonValue bv && bv.GetValueKind() is JsonValueKind.True || BoolRegex().IsMatch(text));
            case "json":
                try
                {
                    return value is JsonObject or JsonArray ? JsonDepth.Clone(value) : JsonTools.Parse(text);
                }
                catch (JsonException ex)
                {
                    throw new InvalidOperationException($"Invalid JSON: {ex.Message}", ex);
                }
            case "bin":
                var parsed = value is JsonArray ? value : JsonTools.Parse(string.IsNullOrWhiteSpace(text) ? "[]" : text);
                return parsed is JsonArray arr
                    ? JsonTools.Buffer(arr.Select(x => (byte)JsonTools.ToNumber(x)).ToArray())
                    : JsonTools.Buffer(System.Text.Encoding.UTF8.GetBytes(text));
            case "re":
                return JsonValue.Create(text);
            case "date":
                return text switch
                {
                    "iso" or "object" => JsonValue.Create(DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)),
                    _ => JsonValue.Create(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
                };
            case "msg":
                return msg is null || text.Length == 0 ? null : PropertyPath.Parse(NestedPath.Resolve(text, msg.Data)).Get(msg.Data);
            case "flow":
            case "global":
                {
                    var (store, key) = ParseContextKey(text);
                    var scope = type == "flow" ? node.FlowContext : node.GlobalContext;
                    return key.Length == 0 ? null : scope.Get(key, store);
                }
            case "env":
                return text.Contains("${", StringComparison.Ordinal) ? JsonValue.Create(ExpandEnv(text, node)) : node.GetEnvValue(text) ?? JsonValue.Create("");
            case "jsonata":
                return Jsonata(text, node).Evaluate(msg).Value;
            case "node":
                return JsonValue.Create(node.Id);
            default:
                // Node-RED's evaluateNodeProperty leaves the value as written for a type it does not know (its own
                // examples carry "vt":"string").
                return JsonTools.Detach(value);
        }
    }

    /// <summary>
    /// False when the value is undefined in Node-RED's sense (a missing msg property or context key): Node-RED's
    /// setMessageProperty then deletes the target instead of setting it.
    /// </summary>
    public static bool IsDefined(string? type, JsonNode? value, FlowMessage? msg, JsonNode? result)
    {
        var text = value is null ? "" : JsonTools.ToJsString(value);
        return type switch
        {
            "msg" => msg is not null && text.Length > 0 && PropertyPath.Parse(NestedPath.Resolve(text, msg.Data)).TryGet(msg.Data, out _),
            "flow" or "global" => result is not null,
            _ => true,
        };
    }

    private static readonly ConditionalWeakTable<INodeHost, ConcurrentDictionary<string, JsonataExpression>> s_jsonata = new();

    /// <summary>
    /// A node's JSONata expression, prepared on first use and kept while the node lives (Node-RED prepares it on every
    /// evaluation of a typed input; the result is the same). A syntax error throws <see cref="JsonataException"/>.
    /// </summary>
    public static JsonataExpression Jsonata(string text, INodeHost node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var cache = s_jsonata.GetOrCreateValue(node);
        if (cache.TryGetValue(text, out var expr))
        {
            return expr;
        }
        expr = JsonataExpression.Prepare(text, node);
        // Expressions built from message data could grow this without bound: keep only the first few.
        if (cache.Count < 64)
        {
            cache.TryAdd(text, expr);
        }
        return expr;
    }

    /// <summary>Replaces <c>${VAR}</c> in a string with environment values.</summary>
    public static string ExpandEnv(string text, INodeHost node) =>
        EnvRegex().Replace(text, m => node.GetEnv(m.Groups[1].Value) ?? "");

    [GeneratedRegex(@"^#:\((\S+?)\)::(.*)$")]
    private static partial Regex ContextKeyRegex();

    [GeneratedRegex("^true$", RegexOptions.IgnoreCase)]
    private static partial Regex BoolRegex();

    [GeneratedRegex(@"\$\{([^}]+)\}")]
    private static partial Regex EnvRegex();
}
