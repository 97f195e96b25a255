using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Scripting;
using Jint;
using Jint.Native;
using Jint.Runtime;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>
/// YAML the way Node-RED reads and writes it: npm <c>js-yaml</c> 4.3.2 (the version Node-RED 4.1.15 ships, bundled by
/// <c>tools/js-yaml/build.mjs</c>) run by Jint. Its schema (YAML 1.2 core plus timestamps, merge keys, binary...), its dump
/// layout and its error messages (reason, line:column and the source snippet) are then js-yaml's own.
/// </summary>
public static class JsYaml
{
    // A few aliases can name a document that is exponentially larger once expanded (a "billion laughs"): a copy into a
    // message is refused beyond this many values, where Node-RED would hang.
    private const int MaxValues = 1_000_000;

    private static readonly Lazy<Prepared<Acornima.Ast.Script>> s_library = new(() =>
    {
        using var stream = typeof(JsYaml).Assembly.GetManifestResourceStream("FlowFleet.Nodes.Core.js-yaml.js")
            ?? throw new InvalidOperationException("js-yaml.js is not embedded");
        using var reader = new StreamReader(stream);
        return Engine.PrepareScript(reader.ReadToEnd(), "js-yaml.js");
    });

    private static readonly ConcurrentBag<Runner> s_free = [];

    /// <summary>
    /// Parses YAML (js-yaml's <c>load</c>); invalid YAML throws <see cref="JsYamlException"/> with js-yaml's message. A
    /// document with no content gives undefined (<see cref="JsSpecial.UndefinedNode"/>), which Node-RED's
    /// <c>setMessageProperty</c> turns into deleting the property.
    /// </summary>
    public static JsonNode? Load(string text) => Use(r => r.Engine.Invoke(r.Load, text) is var v && v.IsUndefined() ? JsSpecial.UndefinedNode() : JsConvert.ToJson(v));

    /// <summary>Writes a value as YAML (js-yaml's <c>dump</c> with its defaults).</summary>
    public static string Dump(JsonNode? value) => Use(r => r.Engine.Invoke(r.Dump, JsConvert.ToJs(r.Engine, value)).AsString());

    private static T Use<T>(Func<Runner, T> work)
    {
        if (!s_free.TryTake(out var runner))
        {
            runner = new Runner();
        }
        try
        {
            return work(runner);
        }
        catch (JavaScriptException ex)
        {
            var error = ex.Error;
            var message = error.IsObject() ? error.AsObject().Get("message") : error;
            throw new JsYamlException(message.IsUndefined() ? ex.Message : TypeConverter.ToString(message), ex);
        }
        catch (Exception ex) when (ex is RecursionDepthOverflowException or TimeoutException or MemoryLimitExceededException or InvalidOperationException)
        {
            // Nesting deeper than the engine allows, a runaway document: an error for this message, never a dead process.
            throw new JsYamlException(ex is RecursionDepthOverflowException ? "Maximum call stack size exceeded" : ex.Message, ex);
        }
        finally
        {
            if (s_free.Count < Environment.ProcessorCount)
            {
                s_free.Add(runner);
            }
        }
    }

    /// <summary>One engine with the library loaded; used by one caller at a time.</summary>
    private sealed class Runner
    {
        public Runner()
        {
            Engine = new Engine(o =>
            {
                o.TimeoutInterval(TimeSpan.FromSeconds(10)).LimitRecursion(2048).LimitMemory(256L << 20).Strict(false);
                // Deep nesting ends in a catchable error when this thread's stack runs low, never in a stack overflow.
                o.Constraints.MaxExecutionStackCount = 0;
            });
            Engine.Execute(s_library.Value);
            var api = Engine.Evaluate($$"""
                (function (jsyaml) {
                    function size(v, seen) {
                        if (v === null || typeof v !== 'object') { return seen + 1; }
                        if (seen > {{MaxValues}}) { throw new Error('YAML document too large: more than {{MaxValues}} values once aliases are expanded'); }
                        var keys = Object.keys(v);
                        seen++;
                        for (var i = 0; i < keys.length; i++) { seen = size(v[keys[i]], seen); }
                        return seen;
                    }
                    return {
                        load: function (text) { var v = jsyaml.load(text); size(v, 0); return v; },
                        dump: function (value) { return jsyaml.dump(value); }
                    };
                })(jsyaml)
                """).AsObject();
            Load = api.Get("load");
            Dump = api.Get("dump");
        }

        public Engine Engine { get; }

        public JsValue Load { get; }

        public JsValue Dump { get; }
    }
}

/// <summary>js-yaml refused a document or value; the message is js-yaml's (as Node-RED shows it).</summary>
public sealed class JsYamlException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
