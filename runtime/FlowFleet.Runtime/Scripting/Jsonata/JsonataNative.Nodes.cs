using System.Globalization;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Scripting.Jsonata;

/// <summary>
/// The node kinds of <see cref="JsonataNative"/>, each following the library's evaluate* function of the same name
/// (jsonata.js 2.2.2) for the value types it accepts, and bailing out for the rest. Values: <c>double</c>,
/// <c>string</c>, <c>bool</c>, <c>null</c>, a message's <see cref="JsonObject"/>, a constructed <c>List</c>, or undefined.
/// </summary>
internal sealed partial class JsonataNative
{
    private sealed record Constant(object? Value) : Node
    {
        public override object? Eval(object? input, Scope scope) => Value;
    }

    private sealed record Variable(string Name) : Node
    {
        public override object? Eval(object? input, Scope scope) => Name switch
        {
            "" => input,
            "$" => scope.Root,
            _ when scope.Bindings is { } b && b.TryGetValue(Name, out var v) => FromJson(v),
            // Undefined variables and the library's functions used as values are the library's.
            _ => Bail<object>(),
        };
    }

    private sealed record PathNode(bool FromRoot, string[] Names) : Node
    {
        public override object? Eval(object? input, Scope scope)
        {
            var current = FromRoot ? scope.Root : input;
            foreach (var name in Names)
            {
                switch (current)
                {
                    case JsonObject o:
                        current = o.TryGetPropertyValue(name, out var v) ? FromJson(v) : s_undefined;
                        break;
                    case LegacyMessage m:
                        current = name == "msg" ? m.Data : s_undefined;
                        break;
                    case List<object?> or JsonArray:
                        // A step after an array maps over it: the library's.
                        return Bail<object>();
                    default:
                        // Undefined, null and primitives have no properties: the path is undefined.
                        return s_undefined;
                }
            }
            return current;
        }
    }

    private sealed record Negate(Node Operand) : Node
    {
        public override object? Eval(object? input, Scope scope) => Operand.Eval(input, scope) switch
        {
            double d => -d,
            var v when ReferenceEquals(v, s_undefined) => v,
            _ => Bail<object>(),
        };
    }

    private sealed record Condition(Node Test, Node Then, Node? Else) : Node
    {
        public override object? Eval(object? input, Scope scope) =>
            Boolean(Test.Eval(input, scope)) == true ? Then.Eval(input, scope) : Else is null ? s_undefined : Else.Eval(input, scope);
    }

    private sealed record ArrayConstructor(List<Node> Items) : Node
    {
        public override object? Eval(object? input, Scope scope)
        {
            var result = new List<object?>(Items.Count);
            foreach (var item in Items)
            {
                var v = item.Eval(input, scope);
                if (ReferenceEquals(v, s_undefined))
                {
                    continue;
                }
                // An array from anything but a nested constructor is spliced in by the library: its business.
                if (v is JsonArray || v is List<object?> && item is not ArrayConstructor)
                {
                    return Bail<object>();
                }
                result.Add(v);
            }
            return result;
        }
    }

    private sealed record ObjectConstructor(List<(string Key, Node Value)> Pairs) : Node
    {
        public override object? Eval(object? input, Scope scope)
        {
            if (input is List<object?> or JsonArray)
            {
                return Bail<object>();
            }
            var result = new JsonObject();
            foreach (var (key, node) in Pairs)
            {
                var v = node.Eval(input, scope);
                if (!ReferenceEquals(v, s_undefined))
                {
                    result[key] = ToJson(v);
                }
            }
            return result;
        }
    }

    private sealed record Binary(string Op, Node Left, Node Right) : Node
    {
        public override object? Eval(object? input, Scope scope)
        {
            var l = Left.Eval(input, scope);
            switch (Op)
            {
                case "and":
                    return Boolean(l) == true && Boolean(Right.Eval(input, scope)) == true;
                case "or":
                    return Boolean(l) == true || Boolean(Right.Eval(input, scope)) == true;
            }
            var r = Right.Eval(input, scope);
            switch (Op)
            {
                case "+" or "-" or "*" or "/" or "%":
                    {
                        // A non-number is a type error (T2001/T2002): the library reports it.
                        if (!IsUndefined(l) && l is not double || !IsUndefined(r) && r is not double)
                        {
                            return Bail<object>();
                        }
                        if (l is not double x || r is not double y)
                        {
                            return s_undefined;
                        }
                        var n = Op switch { "+" => x + y, "-" => x - y, "*" => x * y, "/" => x / y, _ => x % y };
                        return double.IsFinite(n) ? n : Bail<object>();
                    }
                case "=" or "!=":
                    if (IsUndefined(l) || IsUndefined(r))
                    {
                        return false;
                    }
                    return Op == "=" ? PrimitiveEquals(l, r) : !PrimitiveEquals(l, r);
                case "<" or "<=" or ">" or ">=":
                    {
                        if (!IsUndefined(l) && l is not (string or double) || !IsUndefined(r) && r is not (string or double))
                        {
                            return Bail<object>();
                        }
                        if (IsUndefined(l) || IsUndefined(r))
                        {
                            return s_undefined;
                        }
                        var c = (l, r) switch
                        {
                            (double a, double b) => a.CompareTo(b),
                            (string a, string b) => string.CompareOrdinal(a, b),
                            _ => Bail<int>(),
                        };
                        return Op switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 };
                    }
                case "&":
                    return (IsUndefined(l) ? "" : ToText(l)) + (IsUndefined(r) ? "" : ToText(r));
                default:
                    return Bail<object>();
            }
        }

        private static bool PrimitiveEquals(object? l, object? r) => (l, r) switch
        {
            (null, null) => true,
            (double a, double b) => a == b,
            (string a, string b) => string.Equals(a, b, StringComparison.Ordinal),
            (bool a, bool b) => a == b,
            (null or double or string or bool, null or double or string or bool) => false,
            // Objects and arrays compare deeply: the library's isDeepEqual.
            _ => Bail<bool>(),
        };
    }

    /// <summary>The <c>{msg: msg}</c> an expression naming <c>msg</c> is evaluated against (only paths look into it).</summary>
    private sealed record LegacyMessage(JsonObject Data);

    private static bool IsUndefined(object? v) => ReferenceEquals(v, s_undefined);

    /// <summary>The library's <c>fn.boolean</c> (null for undefined); arrays are left to it.</summary>
    private static bool? Boolean(object? v) => v switch
    {
        bool b => b,
        string s => s.Length > 0,
        double d => d != 0,
        null => false,
        JsonObject o => o.Count > 0,
        _ when ReferenceEquals(v, s_undefined) => null,
        _ => Bail<bool?>(),
    };

    /// <summary>The library's <c>$string</c> for primitives: numbers to 15 significant digits, printed as JavaScript does.</summary>
    private static string ToText(object? v) => v switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        null => "null",
        double d => FormatNumber(double.Parse(d.ToString("G15", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)),
        _ => Bail<string>(),
    };

    /// <summary>A number as JavaScript prints it, where .NET and JavaScript agree (no exponent form).</summary>
    private static string FormatNumber(double d)
    {
        var text = Messages.JsonTools.FormatNumber(d);
        return text.Contains('E', StringComparison.Ordinal) || !double.IsFinite(d) ? Bail<string>() : text;
    }
}
