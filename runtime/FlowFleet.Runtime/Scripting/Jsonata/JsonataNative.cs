using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Jint;
using Jint.Native;
using Jint.Native.Object;

namespace FlowFleet.Runtime.Scripting.Jsonata;

/// <summary>
/// A direct evaluator for the plain part of JSONata that most Node-RED expressions stay in: paths through objects,
/// literals, arithmetic, comparisons, <c>and</c>/<c>or</c>, <c>&amp;</c>, conditions, object and array constructors,
/// <c>$A</c>-style bindings and a few functions (the context and env bindings among them). It walks the AST the npm
/// library's own parser produced, and gives up (returns false) on anything else it meets — another node type when
/// compiled; an array in a path, a value of an unexpected type, an error when evaluating — so the library then
/// evaluates the expression in Jint, which also produces every error message. Expressions have no side effects, so
/// giving up half-way and starting over in Jint gives the same result.
/// </summary>
internal sealed partial class JsonataNative
{
    private static readonly object s_undefined = new();

    // Names an object inherits in JavaScript: the library would find them on any object (functions), so leave those to it.
    private static readonly HashSet<string> s_inherited = new(StringComparer.Ordinal)
    {
        "__proto__", "constructor", "prototype", "toString", "toLocaleString", "valueOf", "hasOwnProperty", "isPrototypeOf",
        "propertyIsEnumerable", "__lookupGetter__", "__lookupSetter__", "__defineGetter__", "__defineSetter__",
    };

    private readonly Node _root;

    private JsonataNative(Node root) => _root = root;

    /// <summary>The direct evaluator for an AST, or null when the expression uses something it does not evaluate.</summary>
    public static JsonataNative? TryCompile(JsValue ast) => Convert(ast) is { } root ? new JsonataNative(root) : null;

    /// <summary>Evaluates, or returns false to leave the expression to the library.</summary>
    public bool TryEvaluate(JsonNode? input, bool legacy, IReadOnlyDictionary<string, JsonNode?>? bindings, INodeHost? node, out JsonataResult result)
    {
        result = default;
        if (input is JsonArray)
        {
            return false;
        }
        object? context;
        try
        {
            context = legacy && input is JsonObject data ? new LegacyMessage(data) : input is null ? s_undefined : FromJson(input);
        }
        catch (BailException)
        {
            return false;
        }
        var scope = new Scope(context, bindings, node, DateTimeOffset.UtcNow);
        try
        {
            var value = _root.Eval(context, scope);
            result = ReferenceEquals(value, s_undefined) ? JsonataResult.Undefined : new JsonataResult(true, ToJson(value));
            return true;
        }
        catch (BailException)
        {
            return false;
        }
    }

    /// <summary>Thrown inside an evaluation to hand it to the library.</summary>
    private sealed class BailException : Exception
    {
        public static readonly BailException Instance = new();
    }

    private static T Bail<T>() => throw BailException.Instance;

    private sealed record Scope(object? Root, IReadOnlyDictionary<string, JsonNode?>? Bindings, INodeHost? Node, DateTimeOffset Now);

    private abstract record Node
    {
        public abstract object? Eval(object? input, Scope scope);
    }

    private static object? FromJson(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o,
        // An array read from the message: kept whole (a path ending in it gives it as it is); anything that would map
        // over it or splice it is the library's.
        JsonArray a => a,
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.Number => JsonTools.AsDouble(v),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => Bail<object>(),
        },
        _ => Bail<object>(),
    };

    private static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        double d => double.IsFinite(d) ? JsonTools.Number(d) : Bail<JsonNode>(),
        bool b => JsonValue.Create(b),
        JsonObject o => JsonDepth.Clone(o),
        JsonArray a => JsonDepth.Clone(a),
        List<object?> list => new JsonArray(list.Select(ToJson).ToArray()),
        _ => Bail<JsonNode>(),
    };

    private static Node? Convert(JsValue ast)
    {
        if (ast is not ObjectInstance o || HasExtras(o))
        {
            return null;
        }
        var type = o.Get("type").ToString();
        var value = o.Get("value");
        switch (type)
        {
            case "number":
                return new Constant(value.AsNumber());
            case "string":
                return new Constant(value.AsString());
            case "value":
                return new Constant(value.IsNull() ? null : value.AsBoolean());
            case "variable":
                return new Variable(value.ToString());
            case "path":
                return ConvertPath(o.Get("steps"));
            case "binary":
                return Convert(o.Get("lhs")) is { } l && Convert(o.Get("rhs")) is { } r ? new Binary(value.ToString(), l, r) : null;
            case "condition":
                {
                    var condition = Convert(o.Get("condition"));
                    var then = Convert(o.Get("then"));
                    var hasElse = !o.Get("else").IsUndefined();
                    var otherwise = hasElse ? Convert(o.Get("else")) : null;
                    if (condition is null || then is null || (hasElse && otherwise is null))
                    {
                        return null;
                    }
                    return new Condition(condition, then, otherwise);
                }
            case "unary":
                return ConvertUnary(o, value.ToString());
            case "function" when value.ToString() == "(" && o.Get("procedure") is ObjectInstance p && p.Get("type").ToString() == "variable":
                {
                    var args = ConvertList(o.Get("arguments"));
                    return args is null ? null : Function.Create(p.Get("value").ToString(), args);
                }
            default:
                return null;
        }
    }

    // Anything annotated beyond the plain shape (predicates, stages, grouping, focus/index binding, keepArray, tuples,
    // parent operators) is the library's.
    private static readonly string[] s_extras = ["stages", "predicate", "group", "focus", "index", "tuple", "keepArray", "keepSingletonArray", "ancestor", "seekingParent"];

    private static bool HasExtras(ObjectInstance o) => s_extras.Any(flag => !o.Get(flag).IsUndefined());

    private static Node? ConvertUnary(ObjectInstance o, string op)
    {
        switch (op)
        {
            case "-":
                return Convert(o.Get("expression")) is { } e ? new Negate(e) : null;
            case "[":
                return ConvertList(o.Get("expressions")) is { } items ? new ArrayConstructor(items) : null;
            case "{":
                {
                    var pairs = new List<(string, Node)>();
                    var lhs = o.Get("lhs");
                    var length = (int)lhs.AsArray().Length;
                    for (var i = 0; i < length; i++)
                    {
                        var pair = lhs.AsArray()[(uint)i].AsArray();
                        // Keys must be string literals: computed keys group their input, which is the library's business.
                        if (pair[0] is not ObjectInstance key || key.Get("type").ToString() != "string" || Convert(pair[1]) is not { } v)
                        {
                            return null;
                        }
                        pairs.Add((key.Get("value").AsString(), v));
                    }
                    return pairs.Select(p => p.Item1).Distinct(StringComparer.Ordinal).Count() == pairs.Count ? new ObjectConstructor(pairs) : null;
                }
            default:
                return null;
        }
    }

    private static List<Node>? ConvertList(JsValue list)
    {
        if (!list.IsArray())
        {
            return null;
        }
        var result = new List<Node>();
        var array = list.AsArray();
        for (uint i = 0; i < array.Length; i++)
        {
            if (Convert(array[i]) is not { } item)
            {
                return null;
            }
            result.Add(item);
        }
        return result;
    }

    private static Node? ConvertPath(JsValue steps)
    {
        if (!steps.IsArray())
        {
            return null;
        }
        var names = new List<string>();
        var array = steps.AsArray();
        var fromRoot = false;
        for (uint i = 0; i < array.Length; i++)
        {
            if (array[i] is not ObjectInstance step || HasExtras(step))
            {
                return null;
            }
            var type = step.Get("type").ToString();
            if (i == 0 && type == "variable" && step.Get("value").ToString() == "$")
            {
                fromRoot = true;
                continue;
            }
            if (type != "name")
            {
                return null;
            }
            var name = step.Get("value").ToString();
            if (s_inherited.Contains(name))
            {
                return null;
            }
            names.Add(name);
        }
        return names.Count == 0 ? null : new PathNode(fromRoot, [.. names]);
    }
}
