using System.Collections.Concurrent;
using Acornima;
using Acornima.Ast;
using Jint.Native;
using Jint.Native.Array;
using Jint.Native.Object;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// <c>node.send(msg, false)</c> hands the script's own object over uncloned, so Node-RED delivers it after the run and a
/// change the script makes to it later is seen downstream; the host therefore keeps every such object until the run ends.
/// For a burst (<c>for (…) node.send({ … }, false)</c>) that kept 200,000 script objects alive, ~100 MB that every
/// collection during the run copied on to an older generation (12–30 % of the throughput bench's time in collections).
/// <para>
/// An object literal written in the call itself cannot be changed later when nothing else can reach it: no other reference
/// to it or to the objects nested in it as literals exists, and its other members are primitives (checked when it is sent,
/// since a member like <c>seq: i</c> could hold an object). Such a send is taken at once, as a cloning send is — the same
/// message and the same order, provided nothing is already waiting from this run. Those call sites are found when the
/// code is prepared and marked by writing a site number over their <c>false</c> (five digits over five letters: every
/// position in the code and in its errors stays where it was); <c>send</c> treats a number as "take it now" anyway.
/// </para>
/// <para>
/// A script is left as written when <c>node</c> could be anything but the node API (named other than as the callee of
/// <c>node.x(…)</c>: declared, assigned, passed on) or when code could reach it indirectly (<c>eval</c>, <c>Function</c>,
/// <c>with</c>, <c>this</c>, <c>globalThis</c>).
/// </para>
/// </summary>
internal static class FreshSends
{
    /// <summary>The number written over the first site's <c>false</c>; the next sites count on from it.</summary>
    public const int FirstSite = 10_000;

    private const int MaxSites = 90_000;
    // Syntax nesting walked at most. A sent literal's own nesting is walked again by its shape, at most as deep as the
    // parser (which guards its stack) accepted.
    private const int MaxDepth = 256;
    private const int MaxEntries = 1024;
    private static readonly ConcurrentDictionary<string, (string Code, Shape[] Sites)> s_rewritten = new(StringComparer.Ordinal);
    private static readonly string[] s_unsafeNames = ["eval", "Function", "globalThis", "Reflect"];

    /// <summary>
    /// The code with its fresh-literal sends marked, and the shape of each marked literal (by site number − <see cref="FirstSite"/>).
    /// <paramref name="others"/> are the other scripts sharing the engine (setup and close code): the code is left as written
    /// when one of them could change <c>node</c>.
    /// </summary>
    public static (string Code, Shape[] Sites) Rewrite(string code, params string?[] others)
    {
        if (!code.Contains("false", StringComparison.Ordinal) || !code.Contains("send", StringComparison.Ordinal))
        {
            return (code, []);
        }
        var key = others.Length == 0 ? code : string.Join("\u0000", [code, .. others]);
        if (s_rewritten.TryGetValue(key, out var done))
        {
            return done;
        }
        done = Analyse(code, others);
        if (s_rewritten.Count >= MaxEntries)
        {
            s_rewritten.Clear();
        }
        s_rewritten[key] = done;
        return done;
    }

    private static (string Code, Shape[] Sites) Analyse(string code, string?[] others)
    {
        var walker = new Walker();
        try
        {
            walker.Walk(new Parser(ScriptCache.SyntaxOptions).ParseScript(code, "function"), null, null, 0);
            foreach (var other in others)
            {
                if (other is not null)
                {
                    var setup = new Walker();
                    setup.Walk(new Parser(ScriptCache.SyntaxOptions).ParseScript(other, "function"), null, null, 0);
                    walker.Unsafe |= setup.Unsafe;
                }
            }
        }
        catch (Exception ex) when (ex is ParseErrorException or InsufficientExecutionStackException)
        {
            // Not ours to report: the syntax check and Jint word these.
            return (code, []);
        }
        if (walker.Unsafe || walker.Sites.Count == 0 || walker.Sites.Count > MaxSites)
        {
            return (code, []);
        }
        var chars = code.ToCharArray();
        var shapes = new Shape[walker.Sites.Count];
        for (var i = 0; i < shapes.Length; i++)
        {
            var (falseAt, shape) = walker.Sites[i];
            (FirstSite + i).ToString(System.Globalization.CultureInfo.InvariantCulture).CopyTo(chars.AsSpan(falseAt, 5));
            shapes[i] = shape;
        }
        return (new string(chars), shapes);
    }

    /// <summary>What an object or array literal built: its members that are literals themselves (by key or index); the rest must be primitives.</summary>
    internal sealed class Shape
    {
        private readonly (JsString Key, Shape? Nested)[] _members;
        private readonly Shape?[]? _elements;

        public Shape((JsString Key, Shape? Nested)[] members) => _members = members;

        public Shape(Shape?[] elements)
        {
            _members = [];
            _elements = elements;
        }

        /// <summary>True when the sent value is still only what the literal built: nothing in it can be reached from elsewhere.</summary>
        public bool Holds(JsValue value)
        {
            if (_elements is not null)
            {
                if (value is not JsArray array || array.Length != (uint)_elements.Length)
                {
                    return false;
                }
                for (var i = 0; i < _elements.Length; i++)
                {
                    if (!Member(_elements[i], array.Get((uint)i)))
                    {
                        return false;
                    }
                }
                return true;
            }
            if (value is not ObjectInstance obj)
            {
                return false;
            }
            foreach (var (key, nested) in _members)
            {
                if (!Member(nested, obj.Get(key)))
                {
                    return false;
                }
            }
            return true;
        }

        private static bool Member(Shape? nested, JsValue value) => nested?.Holds(value) ?? value is not ObjectInstance;
    }

    /// <summary>Finds <c>node.send(literal, false)</c> sites and anything that makes the rewrite unsafe.</summary>
    private sealed class Walker
    {
        public bool Unsafe;
        public readonly List<(int FalseAt, Shape Shape)> Sites = [];

        public void Walk(Node node, Node? parent, Node? grandparent, int depth)
        {
            if (Unsafe)
            {
                return;
            }
            if (depth > MaxDepth)
            {
                // Deeper than any script written by hand: left as written rather than walked on this thread's stack.
                Unsafe = true;
                return;
            }
            switch (node)
            {
                case Identifier { Name: "node" }:
                    // Only ever the object of a call's callee: node.send(…), node.warn(…).
                    if (parent is not MemberExpression { Computed: false } member || member.Object != node
                        || grandparent is not CallExpression callee || callee.Callee != member)
                    {
                        Unsafe = true;
                    }
                    return;
                case Identifier id when Array.IndexOf(s_unsafeNames, id.Name) >= 0:
                case ThisExpression:
                case WithStatement:
                    Unsafe = true;
                    return;
                case CallExpression call when IsNodeSend(call) && call.Arguments.Count == 2
                    && call.Arguments[1] is BooleanLiteral { Value: false } flag && flag.End - flag.Start == 5
                    && call.Arguments[0] is ObjectExpression literal && ShapeOf(literal) is { } shape:
                    Sites.Add((flag.Start, shape));
                    break;
            }
            foreach (var child in node.ChildNodes)
            {
                Walk(child, node, parent, depth + 1);
            }
        }

        private static bool IsNodeSend(CallExpression call) =>
            call.Callee is MemberExpression { Computed: false, Object: Identifier { Name: "node" }, Property: Identifier { Name: "send" } } && !call.Optional;

        private static Shape? ShapeOf(Node literal)
        {
            if (literal is ArrayExpression array)
            {
                var elements = new Shape?[array.Elements.Count];
                for (var i = 0; i < elements.Length; i++)
                {
                    var element = array.Elements[i];
                    if (element is null or SpreadElement)
                    {
                        return null;
                    }
                    if (!ValueShape(element, out elements[i]))
                    {
                        return null;
                    }
                }
                return new Shape(elements);
            }
            if (literal is not ObjectExpression obj)
            {
                return null;
            }
            var members = new Dictionary<string, Shape?>(StringComparer.Ordinal);
            foreach (var p in obj.Properties)
            {
                if (p is not Property { Kind: PropertyKind.Init, Computed: false, Method: false } property)
                {
                    // A spread, a getter or setter, a computed key, a method.
                    return null;
                }
                var key = property.Key switch
                {
                    Identifier id => id.Name,
                    StringLiteral s => s.Value,
                    _ => null,
                };
                if (key is null or "__proto__" || !ValueShape(property.Value, out var nested))
                {
                    return null;
                }
                // The last of a repeated key wins, as in the object the literal builds.
                members[key] = nested;
            }
            return new Shape(members.Select(m => (JsString.Create(m.Key), m.Value)).ToArray());
        }

        /// <summary>A member's shape: a nested literal's own, or none (a value that must be a primitive when sent).</summary>
        private static bool ValueShape(Node value, out Shape? shape)
        {
            if (value is ObjectExpression or ArrayExpression)
            {
                shape = ShapeOf(value);
                return shape is not null;
            }
            shape = null;
            return true;
        }
    }
}
