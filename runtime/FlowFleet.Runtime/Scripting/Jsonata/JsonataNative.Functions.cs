using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FlowFleet.Runtime.Scripting.Jsonata;

/// <summary>
/// The functions <see cref="JsonataNative"/> evaluates itself, each as the library's function of the same name does for
/// the argument types accepted here (anything else, including what would be an error, goes back to the library), plus
/// Node-RED's <c>$flowContext</c>, <c>$globalContext</c> and <c>$env</c>.
/// </summary>
internal sealed partial class JsonataNative
{
    [GeneratedRegex("^-?[0-9]+(\\.[0-9]+)?([Ee][-+]?[0-9]+)?$")]
    private static partial Regex DecimalNumber();

    private sealed record Function(string Name, List<Node> Args) : Node
    {
        private static readonly Dictionary<string, (int Min, int Max)> s_arity = new(StringComparer.Ordinal)
        {
            ["string"] = (1, 1), ["number"] = (1, 1), ["round"] = (1, 2), ["floor"] = (1, 1), ["ceil"] = (1, 1), ["abs"] = (1, 1),
            ["uppercase"] = (1, 1), ["lowercase"] = (1, 1), ["length"] = (1, 1), ["exists"] = (1, 1), ["boolean"] = (1, 1),
            ["not"] = (1, 1), ["now"] = (0, 0), ["millis"] = (0, 0), ["merge"] = (1, 1), ["count"] = (1, 1), ["sum"] = (1, 1),
            ["max"] = (1, 1), ["min"] = (1, 1), ["average"] = (1, 1), ["flowContext"] = (1, 2), ["globalContext"] = (1, 2), ["env"] = (1, 1),
        };

        public static Function? Create(string name, List<Node> args) =>
            s_arity.TryGetValue(name, out var arity) && args.Count >= arity.Min && args.Count <= arity.Max ? new Function(name, args) : null;

        public override object? Eval(object? input, Scope scope)
        {
            if (scope.Bindings?.ContainsKey(Name) == true)
            {
                // A binding of the same name replaces the function.
                return Bail<object>();
            }
            var a = Args.Count > 0 ? Args[0].Eval(input, scope) : s_undefined;
            var b = Args.Count > 1 ? Args[1].Eval(input, scope) : s_undefined;
            return Name switch
            {
                "exists" => !IsUndefined(a),
                "now" => scope.Now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                "millis" => (double)scope.Now.ToUnixTimeMilliseconds(),
                "flowContext" => Context(scope, flow: true, a, b),
                "globalContext" => Context(scope, flow: false, a, b),
                "env" => a is string name ? scope.Node?.GetEnv(name) ?? "" : Bail<object>(),
                _ when IsUndefined(a) => Name == "count" ? 0d : s_undefined,
                "string" => a is JsonObject or JsonArray or List<object?> ? Bail<object>() : ToText(a),
                "number" => a switch
                {
                    double => a,
                    bool t => t ? 1d : 0d,
                    string s when DecimalNumber().IsMatch(s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && double.IsFinite(n) => n,
                    _ => Bail<object>(),
                },
                "round" => a is double x ? Round(x, b) : Bail<object>(),
                "floor" => a is double f ? Math.Floor(f) : Bail<object>(),
                "ceil" => a is double c ? Math.Ceiling(c) : Bail<object>(),
                "abs" => a is double m ? Math.Abs(m) : Bail<object>(),
                "uppercase" => a is string u && IsAscii(u) ? u.ToUpperInvariant() : Bail<object>(),
                "lowercase" => a is string w && IsAscii(w) ? w.ToLowerInvariant() : Bail<object>(),
                // Array.from(str).length: code points, not UTF-16 units.
                "length" => a is string len ? (double)len.EnumerateRunes().Count() : Bail<object>(),
                "boolean" => Boolean(a),
                "not" => !Boolean(a),
                "merge" => Merge(a),
                "count" => a switch
                {
                    List<object?> list => (double)list.Count,
                    JsonArray array => (double)array.Count,
                    JsonObject or string or double or bool or null => 1d,
                    _ => Bail<object>(),
                },
                "sum" => Numbers(a).Sum(),
                "max" => Numbers(a) is { Count: > 0 } max ? max.Max() : s_undefined,
                "min" => Numbers(a) is { Count: > 0 } min ? min.Min() : s_undefined,
                "average" => Numbers(a) is { Count: > 0 } avg ? avg.Sum() / avg.Count : s_undefined,
                _ => Bail<object>(),
            };
        }

        private static object? Context(Scope scope, bool flow, object? key, object? store)
        {
            if (key is not string k || !IsUndefined(store) && store is not string)
            {
                return Bail<object>();
            }
            if (scope.Node is not { } node)
            {
                return "";
            }
            JsonNode? value;
            try
            {
                value = (flow ? node.FlowContext : node.GlobalContext).Get(k, store as string);
            }
            catch (InvalidOperationException)
            {
                // An unknown store and the like: the library reports it as Node-RED does.
                return Bail<object>();
            }
            return value is null ? s_undefined : FromJson(value);
        }

        private static double Round(double x, object? precision)
        {
            if (IsUndefined(precision) || precision is 0d)
            {
                return Math.Round(x, MidpointRounding.ToEven);
            }
            if (precision is not double p || p != Math.Floor(p))
            {
                return Bail<double>();
            }
            // As the library: shift the decimal point in the number's text, round half to even, shift back.
            var digits = ((long)p).ToString(CultureInfo.InvariantCulture);
            var shifted = double.Parse(FormatNumber(x) + "e" + digits, CultureInfo.InvariantCulture);
            var rounded = Math.Round(shifted, MidpointRounding.ToEven);
            return double.Parse(FormatNumber(rounded) + "e" + (-(long)p).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        }

        private static bool IsAscii(string s) => s.All(char.IsAscii);

        private static List<double> Numbers(object? a) => a switch
        {
            double d => new List<double> { d },
            List<object?> list when list.All(x => x is double) => list.Cast<double>().ToList(),
            JsonArray array when array.All(x => x is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number) =>
                array.Select(x => Messages.JsonTools.AsDouble((JsonValue)x!)).ToList(),
            _ => Bail<List<double>>(),
        };

        private static object Merge(object? a)
        {
            var parts = a switch
            {
                JsonObject o => new List<JsonObject> { o },
                List<object?> list when list.All(x => x is JsonObject) => list.Cast<JsonObject>().ToList(),
                _ => Bail<List<JsonObject>>(),
            };
            var result = new JsonObject();
            foreach (var part in parts)
            {
                foreach (var (k, v) in part)
                {
                    result[k] = Messages.JsonDepth.Clone(v);
                }
            }
            return result;
        }
    }
}
