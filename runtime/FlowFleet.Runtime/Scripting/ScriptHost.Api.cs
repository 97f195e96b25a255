using System.Text.Json.Nodes;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Engine;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Jint;
using Jint.Native;
using Jint.Native.Object;

namespace FlowFleet.Runtime.Scripting;

public sealed partial class ScriptHost
{
    private void InstallApi(int outputs)
    {
        var node = new JsObject(Engine);
        node.CreateDataProperty("id", _node.Alias);
        node.CreateDataProperty("name", _node.Name ?? "");
        node.CreateDataProperty("path", _node.FlowId + "/" + _node.Alias);
        node.CreateDataProperty("outputCount", outputs);
        node.CreateDataProperty("send", Fn("send", (_, a) =>
        {
            var msgs = Arg(a, 0);
            var input = _current;
            if (a.Length > 1 && ((a[1].IsBoolean() && !a[1].AsBoolean()) || (a[1].IsNumber() && MustWait(msgs, a[1].AsNumber()))))
            {
                // send(msg, false) does not clone: Node-RED delivers the same object later, so changes the script still
                // makes are seen downstream. The message is taken when the current run ends.
                _deferred.Add(msgs, input);
                return JsValue.Undefined;
            }
            _node.Send(ToPorts(msgs, input, topLevelArrayIsPorts: true));
            return JsValue.Undefined;
        }));
        node.CreateDataProperty("done", Fn("done", (_, a) =>
        {
            var msg = _current ?? _awaitingDone;
            if (ReferenceEquals(msg, _awaitingDone))
            {
                _awaitingDone = null;
            }
            if (msg is not null)
            {
                if (Arg(a, 0) is { } err && !err.IsUndefined() && !err.IsNull())
                {
                    ReportError(err, msg);
                }
                else
                {
                    _node.Done(msg);
                }
            }
            return JsValue.Undefined;
        }));
        node.CreateDataProperty("error", Fn("error", (_, a) =>
        {
            var m = Arg(a, 1);
            ReportError(Arg(a, 0), m.IsObject() ? ToMessage(m, _current) : null);
            return JsValue.Undefined;
        }));
        node.CreateDataProperty("warn", Fn("warn", (_, a) =>
        {
            // An object is shown as an object in the sidebar, as Node-RED's log_helper passes it on.
            var v = Arg(a, 0);
            if (v.IsObject() && v is not Jint.Native.Function.Function)
            {
                _node.Warn(JsConvert.ToJson(v));
            }
            else
            {
                _node.Warn(Text(v));
            }
            return JsValue.Undefined;
        }));
        node.CreateDataProperty("log", Fn("log", (_, a) => { _node.Log(Text(Arg(a, 0))); return JsValue.Undefined; }));
        node.CreateDataProperty("debug", Fn("debug", (_, a) => { _node.Log(Text(Arg(a, 0))); return JsValue.Undefined; }));
        node.CreateDataProperty("trace", Fn("trace", (_, a) => { _node.Log(Text(Arg(a, 0))); return JsValue.Undefined; }));
        node.CreateDataProperty("status", Fn("status", (_, a) =>
        {
            _node.Status(NodeStatus.FromJson(JsConvert.ToJson(Arg(a, 0))));
            return JsValue.Undefined;
        }));
        node.CreateDataProperty("on", Fn("on", (_, _) => JsValue.Undefined));
        node.CreateDataProperty("linkcall", Fn("linkcall", (_, a) => LinkCallFromScript(Arg(a, 0), Arg(a, 1), Arg(a, 2))));
        Engine.SetValue("node", node);
        Engine.SetValue("context", ContextObject(_node.NodeContext, withScopes: true));
        Engine.SetValue("flow", ContextObject(_node.FlowContext, withScopes: false));
        Engine.SetValue("global", ContextObject(_node.GlobalContext, withScopes: false));

        var env = new JsObject(Engine);
        env.CreateDataProperty("get", Fn("get", (_, a) => _node.GetEnvValue(Text(Arg(a, 0))) is { } v ? JsConvert.ToJs(Engine, v) : JsValue.Undefined));
        Engine.SetValue("env", env);

        var util = new JsObject(Engine);
        util.CreateDataProperty("cloneMessage", Fn("cloneMessage", (_, a) => JsConvert.ToJs(Engine, JsConvert.ToJson(Arg(a, 0)))));
        util.CreateDataProperty("generateId", Fn("generateId", (_, _) => new JsString(MessageId.New())));
        util.CreateDataProperty("getMessageProperty", Fn("getMessageProperty", (_, a) =>
            JsConvert.ToJs(Engine, PropertyPath.Parse(StripMsg(Text(Arg(a, 1)))).Get(JsConvert.ToJson(Arg(a, 0))))));
        var red = new JsObject(Engine);
        red.CreateDataProperty("util", util);
        Engine.SetValue("RED", red);

        var console = new JsObject(Engine);
        console.CreateDataProperty("log", Fn("log", (_, a) => { _node.Log(string.Join(" ", a.Select(Text))); return JsValue.Undefined; }));
        console.CreateDataProperty("warn", Fn("warn", (_, a) => { _node.Warn(string.Join(" ", a.Select(Text))); return JsValue.Undefined; }));
        console.CreateDataProperty("error", Fn("error", (_, a) => { _node.Error(string.Join(" ", a.Select(Text))); return JsValue.Undefined; }));
        Engine.SetValue("console", console);

        Engine.SetValue("setTimeout", Fn("setTimeout", (_, a) => _timers.Start(Arg(a, 0), Arg(a, 1), a.Skip(2).ToArray(), repeat: false)));
        Engine.SetValue("setInterval", Fn("setInterval", (_, a) => _timers.Start(Arg(a, 0), Arg(a, 1), a.Skip(2).ToArray(), repeat: true)));
        Engine.SetValue("clearTimeout", Fn("clearTimeout", (_, a) => { _timers.Stop(Arg(a, 0)); return JsValue.Undefined; }));
        Engine.SetValue("clearInterval", Fn("clearInterval", (_, a) => { _timers.Stop(Arg(a, 0)); return JsValue.Undefined; }));
    }

    private JsObject ContextObject(IContextScope scope, bool withScopes)
    {
        var o = new JsObject(Engine);
        o.CreateDataProperty("get", Fn("get", (_, a) =>
        {
            var (keys, store, cb) = ContextArgs(a);
            JsValue value;
            if (keys.IsArray())
            {
                var arr = keys.AsArray();
                var values = new JsValue[arr.Length];
                for (uint i = 0; i < arr.Length; i++)
                {
                    values[i] = JsConvert.ToJs(Engine, scope.Get(Text(arr[i]), store)) is var v && v.IsNull() ? JsValue.Undefined : v;
                }
                value = new JsArray(Engine, values);
            }
            else
            {
                var v = scope.Get(Text(keys), store);
                value = v is null ? JsValue.Undefined : JsConvert.ToJs(Engine, v);
            }
            if (cb is not null)
            {
                Engine.Call(cb, JsValue.Null, value);
                return JsValue.Undefined;
            }
            return value;
        }));
        o.CreateDataProperty("set", Fn("set", (_, a) =>
        {
            var key = Arg(a, 0);
            var value = Arg(a, 1);
            var store = a.Length > 2 && a[2].IsString() ? a[2].AsString() : null;
            var cb = a.Length > 2 && a[^1] is Jint.Native.Function.Function f ? f : null;
            if (key.IsArray() && value.IsArray())
            {
                var ks = key.AsArray();
                var vs = value.AsArray();
                for (uint i = 0; i < ks.Length; i++)
                {
                    scope.Set(Text(ks[i]), JsConvert.ToJson(vs[i]), store);
                }
            }
            else
            {
                scope.Set(Text(key), value.IsUndefined() ? null : JsConvert.ToJson(value), store);
            }
            if (cb is not null)
            {
                Engine.Call(cb, JsValue.Null);
            }
            return JsValue.Undefined;
        }));
        o.CreateDataProperty("keys", Fn("keys", (_, a) =>
        {
            var store = a.Length > 0 && a[0].IsString() ? a[0].AsString() : null;
            var keys = new JsArray(Engine, scope.Keys(store).Select(k => (JsValue)new JsString(k)).ToArray());
            if (a.Length > 0 && a[^1] is Jint.Native.Function.Function cb)
            {
                Engine.Call(cb, JsValue.Null, keys);
                return JsValue.Undefined;
            }
            return keys;
        }));
        if (withScopes)
        {
            o.CreateDataProperty("flow", ContextObject(_node.FlowContext, withScopes: false));
            o.CreateDataProperty("global", ContextObject(_node.GlobalContext, withScopes: false));
        }
        return o;
    }

    private static (JsValue Keys, string? Store, JsValue? Callback) ContextArgs(JsValue[] a)
    {
        var keys = Arg(a, 0);
        string? store = null;
        JsValue? cb = null;
        for (var i = 1; i < a.Length && i < 3; i++)
        {
            if (a[i] is Jint.Native.Function.Function)
            {
                cb = a[i];
            }
            else if (i == 2 && !a[i].IsUndefined())
            {
                // As Node-RED's context API: a third argument must be the callback.
                throw new Jint.Runtime.JavaScriptException("Callback must be a function");
            }
            else if (a[i].IsString())
            {
                store = a[i].AsString();
            }
        }
        return (keys, store, cb);
    }

    /// <summary>Node-RED's send/return shapes: a msg, an array per port, arrays of arrays, nulls skipped.</summary>
    /// <summary>
    /// For a <c>node.send(literal, false)</c> whose <c>false</c> <see cref="FreshSends"/> marked with a site number: true
    /// when the message must still wait for the end of the run (something is already waiting, or the literal now holds an
    /// object from elsewhere). Any other number is a cloning send, as before.
    /// </summary>
    private bool MustWait(JsValue msgs, double site)
    {
        var index = site - FreshSends.FirstSite;
        if (index < 0 || index >= _freshSites.Length || index != Math.Floor(index))
        {
            return false;
        }
        return !_deferred.IsEmpty || !_freshSites[(int)index].Holds(msgs);
    }

    private IReadOnlyList<IReadOnlyList<FlowMessage>?> ToPorts(JsValue value, FlowMessage? input, bool topLevelArrayIsPorts)
    {
        if (value.IsNull() || value.IsUndefined())
        {
            return OnePortSend.None;
        }
        if (value.IsArray() && topLevelArrayIsPorts)
        {
            var ports = new List<IReadOnlyList<FlowMessage>?>();
            var arr = value.AsArray();
            for (uint i = 0; i < arr.Length; i++)
            {
                var item = arr[i];
                if (item.IsNull() || item.IsUndefined())
                {
                    ports.Add(null);
                }
                else if (item.IsArray())
                {
                    var inner = item.AsArray();
                    var list = new List<FlowMessage>((int)inner.Length);
                    for (uint j = 0; j < inner.Length; j++)
                    {
                        if (!inner[j].IsNull() && !inner[j].IsUndefined())
                        {
                            list.Add(ToMessage(inner[j], input));
                        }
                    }
                    ports.Add(list);
                }
                else
                {
                    ports.Add([ToMessage(item, input)]);
                }
            }
            return ports;
        }
        return new OnePortSend(ToMessage(value, input));
    }

    private FlowMessage ToMessage(JsValue value, FlowMessage? input)
    {
        if (ReferenceEquals(value, _handOver) && _handOver.HandOver() is { } own)
        {
            return new FlowMessage(own, input?.Refs);
        }
        if (JsConvert.ToJson(value) is not JsonObject data)
        {
            throw new ScriptException($"Function tried to send a message of type {(value.IsString() ? "string" : value.IsNumber() ? "number" : value.IsBoolean() ? "boolean" : "other")}");
        }
        if (input?.MsgId is { } id && !data.ContainsKey("_msgid"))
        {
            data["_msgid"] = id;
        }
        return new FlowMessage(data, input?.Refs);
    }

    private static JsValue Arg(JsValue[] a, int i) => i < a.Length ? a[i] : JsValue.Undefined;

    private static string Text(JsValue v) =>
        v.IsString() ? v.AsString() : v.IsObject() && !v.IsArray() && v is not Jint.Native.Function.Function ? JsonTools.ToJsString(JsConvert.ToJson(v)) : v.ToString();

    /// <summary>
    /// Node-RED 5's <c>node.linkcall(target, msg, options)</c>: sends a copy of msg to a link in node (by id or name) and
    /// returns a promise of the message a link out in return mode hands back (rejected with "timeout" after
    /// <c>options.timeout</c> ms, 5000 by default). The call waits on this node's thread, so the called flow must not
    /// route back into this same function node.
    /// </summary>
    private JsValue LinkCallFromScript(JsValue target, JsValue msg, JsValue options)
    {
        var promise = Engine.Advanced.RegisterPromise();
        try
        {
            if (!target.IsString() || target.AsString().Trim().Length == 0)
            {
                throw new LinkCallException("Error link call target parameter is not valid, expected a string");
            }
            if (!msg.IsObject() || msg.IsNull())
            {
                throw new LinkCallException("Error link call msg parameter is not valid, expected an object");
            }
            var call = LinkCall ?? throw new LinkCallException("Error target 'link in' node not found");
            var timeout = options.IsObject() && options.AsObject().Get("timeout") is { } t && t.IsNumber() && t.AsNumber() > 0
                ? t.AsNumber() : 5000;
            var result = call(target.AsString(), ToMessage(msg, _current), TimeSpan.FromMilliseconds(timeout));
            promise.Resolve(JsConvert.ToJs(Engine, result.Data));
        }
        catch (LinkCallException ex)
        {
            var ctor = Engine.Intrinsics.Error;
            promise.Reject(ctor.Construct([new JsString(ex.Message)], ctor));
        }
        return promise.Promise;
    }

    /// <summary>Node-RED's <c>node.error(err, msg)</c>: an Error object reports its <c>toString()</c> and its stack.</summary>
    private void ReportError(JsValue err, FlowMessage? msg)
    {
        if (ErrorInfo(err) is { } info)
        {
            _node.Error(info, msg);
        }
        else
        {
            _node.Error(ErrorText(err), msg);
        }
    }

    private static string ErrorText(JsValue v) =>
        v.IsObject() && v.AsObject().Get("message") is { } m && m.IsString() ? m.AsString() : Text(v);

    private static string StripMsg(string path) => path.StartsWith("msg.", StringComparison.Ordinal) ? path[4..] : path;
}
