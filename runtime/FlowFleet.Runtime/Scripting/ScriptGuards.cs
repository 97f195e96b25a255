using Jint;
using Jint.Native;
using Jint.Runtime;
using Jint.Runtime.Interop;
using JsEngine = Jint.Engine;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// Depth guards for Jint's built-ins that recurse in .NET code, out of reach of the engine's recursion limit (which
/// counts script calls only): <c>JSON.stringify</c> of an array nested 200,000 deep, <c>String()</c> of one, <c>flat</c>,
/// <c>bind</c> chains, <c>yield*</c> chains and proxies of proxies each overflowed the stack, and a stack overflow ends
/// the process, with no handler. Each guarded call throws a catchable <c>RangeError</c> instead.
/// </summary>
internal static class ScriptGuards
{
    // Guards that only need a script-level wrapper: a counter per built-in, or a walk before the call. Proxy goes:
    // a proxy of a proxy (of a proxy...) recurses in .NET on every property access, through targets and prototypes.
    private static readonly Prepared<Acornima.Ast.Script> s_prelude = JsEngine.PrepareScript("""
        (function (max) {
          'use strict';
          const apply = Reflect.apply, define = Object.defineProperty, isArray = Array.isArray;
          function put(owner, name, fn) { define(owner, name, { value: fn, writable: true, configurable: true, enumerable: false }); }
          function counted(owner, name) {
            const original = owner[name];
            let depth = 0;
            put(owner, name, { [name](...args) {
              if (depth >= max) { throw new RangeError(name + ': nested more than ' + max + ' deep'); }
              depth++;
              try { return apply(original, this, args); } finally { depth--; }
            } }[name]);
          }
          // Array toString/String()/template literals reach join; toLocaleString recurses by itself.
          counted(Array.prototype, 'join');
          counted(Array.prototype, 'toLocaleString');
          const generator = Object.getPrototypeOf(Object.getPrototypeOf((function* () {})()));
          counted(generator, 'next');
          counted(generator, 'return');
          counted(generator, 'throw');
          const flat = Array.prototype.flat;
          put(Array.prototype, 'flat', { flat(d) {
            const levels = d === undefined ? 1 : Number(d);
            if (levels > max && isArray(this)) {
              // How deep does it really go (no recursion, and at most a bounded number of visits)?
              const todo = [this, 1];
              let visits = 0;
              while (todo.length > 0) {
                const level = todo.pop(), a = todo.pop();
                if (level > max || ++visits > 1000000) { throw new RangeError('flat: array nested more than ' + max + ' deep'); }
                for (let i = 0; i < a.length; i++) { if (isArray(a[i])) { todo.push(a[i], level + 1); } }
              }
            }
            return apply(flat, this, arguments);
          } }.flat);
          const bind = Function.prototype.bind, bound = new WeakMap();
          put(Function.prototype, 'bind', { bind(...args) {
            const depth = (bound.get(this) || 0) + 1;
            if (depth > max) { throw new RangeError('bind: a function bound more than ' + max + ' times'); }
            const f = apply(bind, this, args);
            bound.set(f, depth);
            return f;
          } }.bind);
          delete globalThis.Proxy;
        })
        """);

    /// <summary>Installs the guards in a fresh engine; <paramref name="maxDepth"/> bounds every guarded nesting.</summary>
    public static void Install(JsEngine engine, int maxDepth)
    {
        engine.Call(engine.Evaluate(s_prelude), JsNumber.Create(maxDepth));
        var json = engine.GetValue("JSON").AsObject();
        var stringify = json.Get("stringify");
        // Taken now, before a script can replace the global.
        var rangeError = engine.GetValue("RangeError");
        json.Set("stringify", new ClrFunction(engine, "stringify", (_, args) =>
        {
            var replacer = new DepthReplacer(engine, rangeError, At(args, 1), maxDepth);
            return engine.Call(stringify, json, [At(args, 0), replacer.Function, At(args, 2)]);
        }, 3, Jint.Runtime.Descriptors.PropertyFlag.Configurable));
    }

    private static JsValue At(JsValue[] args, int i) => i < args.Length ? args[i] : JsValue.Undefined;

    /// <summary>
    /// A replacer the serializer calls for every value before it descends into it, so it can refuse to go deeper. It
    /// keeps the chain of holders (the serializer works depth first: a call for holder h means everything opened after h
    /// is finished) and applies the caller's own replacer function or property list first.
    /// </summary>
    private sealed class DepthReplacer
    {
        private readonly JsEngine _engine;
        private readonly JsValue _rangeError;
        private readonly JsValue _user;
        private readonly HashSet<string>? _allowed;
        private readonly int _max;
        private readonly List<JsValue> _holders = [];

        public DepthReplacer(JsEngine engine, JsValue rangeError, JsValue user, int max)
        {
            _engine = engine;
            _rangeError = rangeError;
            _max = max;
            _user = user is Jint.Native.Function.Function ? user : JsValue.Undefined;
            if (user.IsArray())
            {
                var list = user.AsArray();
                _allowed = new HashSet<string>(StringComparer.Ordinal);
                for (uint i = 0; i < list.Length; i++)
                {
                    var item = list[i];
                    if (item.IsString() || item.IsNumber())
                    {
                        _allowed.Add(TypeConverter.ToString(item));
                    }
                }
            }
            Function = new ClrFunction(engine, "", Replace, 2);
        }

        public ClrFunction Function { get; }

        private JsValue Replace(JsValue holder, JsValue[] args)
        {
            var key = At(args, 0);
            var value = At(args, 1);
            var root = _holders.Count == 0;
            if (!_user.IsUndefined())
            {
                value = _engine.Call(_user, holder, [key, value]);
            }
            else if (_allowed is not null && !root && !holder.IsArray() && !_allowed.Contains(TypeConverter.ToString(key)))
            {
                return JsValue.Undefined;
            }
            while (_holders.Count > 0 && !ReferenceEquals(_holders[^1], holder))
            {
                _holders.RemoveAt(_holders.Count - 1);
            }
            if (_holders.Count == 0)
            {
                _holders.Add(holder);
            }
            if (value.IsObject() && value is not Jint.Native.Function.Function)
            {
                if (_holders.Count > _max)
                {
                    throw new JavaScriptException(_engine.Construct(_rangeError, new JsString($"JSON.stringify: value nested more than {_max} deep")));
                }
                _holders.Add(value);
            }
            return value;
        }
    }
}
