using System.Text.Json.Nodes;
using FlowFleet.Runtime.Nodes;
using Jint;
using Jint.Native;
using Jint.Runtime.Interop;
using JsEngine = Jint.Engine;

namespace FlowFleet.Runtime.Scripting.Jsonata;

/// <summary>
/// One Jint engine with the npm <c>jsonata</c> library loaded (js/jsonata.js, parsed once per process). Expressions
/// compiled here get Node-RED's bindings (<c>$flowContext</c>, <c>$globalContext</c>, <c>$env</c>, <c>$clone</c>), which
/// read the node of the evaluation in progress. Not thread-safe: <see cref="JsonataPool"/> hands it to one caller at a time.
/// </summary>
internal sealed class JsonataEngine
{
    private static readonly Lazy<Prepared<Acornima.Ast.Script>> s_library = new(() => Load("FlowFleet.Runtime.jsonata.js", "jsonata.js"));

    // Node-RED's prepareJSONataExpression: the same bindings on every expression; $clone as registerFunction with
    // Node-RED's signature. $moment is not bound (FlowFleet does not ship moment-timezone).
    private static readonly Prepared<Acornima.Ast.Script> s_prepare = JsEngine.PrepareScript("""
        (function (jsonata, host) {
          'use strict';
          function clone(v) { return v === undefined ? v : JSON.parse(JSON.stringify(v)); }
          return function (text) {
            var expr = jsonata(text);
            expr.assign('flowContext', host.flow);
            expr.assign('globalContext', host.global);
            expr.assign('env', host.env);
            expr.registerFunction('clone', clone, '<(oa)-:o>');
            return expr;
          };
        })
        """, "jsonata-prepare.js");

    private readonly JsValue _prepare;
    private readonly JsValue _evaluate;

    public JsonataEngine(int index, ScriptLimits limits)
    {
        Index = index;
        Engine = new JsEngine(o =>
        {
            o.TimeoutInterval(limits.Timeout).LimitRecursion(Math.Max(limits.MaxRecursion, 2048)).Strict(false);
            // Deep recursion in an expression ends in a catchable RangeError when this thread's stack runs low, never in a
            // stack overflow (that ends the process); JsonataPool then retries on a thread with a large stack.
            o.Constraints.MaxExecutionStackCount = 0;
            o.CatchClrExceptions(ex => ex is FlowFleet.Runtime.Context.ContextQuotaException or Messages.JsonDepthException or InvalidOperationException);
            if (limits.MemoryLimitBytes > 0)
            {
                o.Constraint(new AllocationLimit(limits.MemoryLimitBytes));
            }
        });
        // The bundle is UMD: with no module system around it, it defines a global `jsonata`.
        Engine.Execute(s_library.Value);
        var jsonata = Engine.GetValue("jsonata");
        var host = new JsObject(Engine);
        host.Set("flow", new ClrFunction(Engine, "flowContext", (_, args) => ReadContext(Current?.FlowContext, args)));
        host.Set("global", new ClrFunction(Engine, "globalContext", (_, args) => ReadContext(Current?.GlobalContext, args)));
        host.Set("env", new ClrFunction(Engine, "env", (_, args) => new JsString(Current?.GetEnv(Arg(args, 0).ToString()) ?? "")));
        _prepare = Engine.Invoke(Engine.Evaluate(s_prepare), jsonata, host);
        _evaluate = Engine.Evaluate("(function (expr, input, bindings) { return expr.evaluate(input, bindings); })");
    }

    /// <summary>Position in the pool (each expression keeps its compiled form per engine).</summary>
    public int Index { get; }

    public JsEngine Engine { get; }

    /// <summary>The node whose expression is being evaluated (its contexts and environment).</summary>
    public INodeHost? Current { get; set; }

    /// <summary>Compiles an expression; a syntax error throws a <see cref="Jint.Runtime.JavaScriptException"/>.</summary>
    public JsValue Compile(string text) => Engine.Invoke(_prepare, text);

    /// <summary>Evaluates a compiled expression against an input with extra variable bindings (or undefined).</summary>
    public JsValue Evaluate(JsValue compiled, JsValue input, JsValue bindings) => Engine.Invoke(_evaluate, compiled, input, bindings);

    private JsValue ReadContext(FlowFleet.Runtime.Context.IContextScope? scope, JsValue[] args)
    {
        if (scope is null)
        {
            return new JsString("");
        }
        var store = Arg(args, 1);
        var value = scope.Get(Arg(args, 0).ToString(), store.IsNull() || store.IsUndefined() ? null : store.ToString());
        return value is null ? JsValue.Undefined : JsConvert.ToJs(Engine, value);
    }

    private static JsValue Arg(JsValue[] args, int i) => i < args.Length ? args[i] : JsValue.Undefined;

    private static Prepared<Acornima.Ast.Script> Load(string resource, string name)
    {
        using var stream = typeof(JsonataEngine).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException(name + " is not embedded");
        using var reader = new StreamReader(stream);
        return JsEngine.PrepareScript(reader.ReadToEnd(), name);
    }

    /// <summary>Converts a JSON value into this engine (a copy; JSONata never changes its input).</summary>
    public JsValue ToJs(JsonNode? value) => JsConvert.ToJs(Engine, value);

    /// <summary>A JS object with the given properties as variable bindings (<c>$A</c>, <c>$I</c>...).</summary>
    public JsValue Bindings(IReadOnlyDictionary<string, JsonNode?>? bindings)
    {
        if (bindings is null || bindings.Count == 0)
        {
            return JsValue.Undefined;
        }
        var obj = new JsObject(Engine);
        foreach (var (name, value) in bindings)
        {
            obj.Set(name, ToJs(value));
        }
        return obj;
    }
}
