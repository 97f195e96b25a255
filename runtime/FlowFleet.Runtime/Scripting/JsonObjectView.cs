using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Native.Object;
using Jint.Runtime;
using Jint.Runtime.Descriptors;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// The message as a function node's script sees it, without copying it: a JavaScript object backed by the message's
/// <see cref="JsonObject"/>. Primitive fields are converted when read; nested objects are views too (the same view each
/// time, so <c>msg.payload === msg.payload</c>); arrays are converted once, on first read. What the script assigns is
/// kept as JavaScript values (so an object assigned and changed afterwards is seen changed) and written into the JSON
/// by <see cref="Commit"/>, when the message leaves the script.
/// </summary>
internal sealed class JsonObjectView : ObjectInstance
{
    private readonly JsonObject _data;
    private readonly JsonObjectView _root;
    private bool _handedOut;

    // Script-side values of properties: assigned by the script, or handed out to it (views of objects, converted arrays).
    private ViewValues _values;

    private readonly ObjectInstance _prototype;

    /// <param name="prototype">The engine's <c>Object.prototype</c> (hasOwnProperty, toString and the rest).</param>
    public JsonObjectView(Jint.Engine engine, ObjectInstance prototype, JsonObject data, JsonObjectView? root = null)
        : base(engine)
    {
        _prototype = prototype;
        _data = data;
        _root = root ?? this;
    }

    protected override ObjectInstance? GetPrototypeOf() => _prototype;

    /// <summary>
    /// Hands the backing JSON of a root view over to the next node (no copy) and retires the view: the script must not
    /// reach a message that another node now owns. Null when this is not a root or was handed out already.
    /// </summary>
    public JsonObject? HandOver()
    {
        if (!ReferenceEquals(_root, this) || _handedOut)
        {
            return null;
        }
        var data = Commit();
        _handedOut = true;
        return data;
    }

    private void CheckLive()
    {
        if (_root._handedOut)
        {
            throw new ScriptException(
                "This msg was already passed on (returned from an earlier run); keep a copy with RED.util.cloneMessage(msg)");
        }
    }

    /// <summary>Writes what the script changed into the backing JSON (recursively) and returns it.</summary>
    public JsonObject Commit(int depth = 0)
    {
        if (_values.IsEmpty)
        {
            return _data;
        }
        if (_values.Key is { } first)
        {
            CommitOne(first, _values.Value!, depth);
        }
        if (_values.More is { } more)
        {
            foreach (var (key, value) in more)
            {
                CommitOne(key, value, depth);
            }
        }
        // Values stay cached (views keep their identity); arrays and assigned objects are written again at the next
        // commit, which keeps later changes made by the script (a timer sending the same msg again) visible.
        return _data;
    }

    private void CommitOne(string key, JsValue value, int depth)
    {
        if (!_data.ContainsKey(key))
        {
            // Removed by an earlier commit (the script set it to undefined or a function).
            return;
        }
        if (value is JsonObjectView view && ReferenceEquals(_data[key], view._data))
        {
            view.Commit(depth + 1);
        }
        else if (value is Jint.Native.Function.Function)
        {
            _data.Remove(key);
        }
        else if (value.IsUndefined())
        {
            // Node-RED keeps a property set to undefined (the debug sidebar shows it).
            _data[key] = Messages.JsSpecial.UndefinedNode();
        }
        else
        {
            _data[key] = JsConvert.ToJson(value, depth + 1);
        }
    }

    public override JsValue Get(JsValue property, JsValue receiver)
    {
        CheckLive();
        if (property is JsString s && TryGetValue(s.ToString(), out var value))
        {
            return value;
        }
        return base.Get(property, receiver);
    }

    private bool TryGetValue(string key, out JsValue value)
    {
        if (_values.TryGetValue(key, out value!))
        {
            return true;
        }
        if (!_data.TryGetPropertyValue(key, out var node))
        {
            value = Undefined;
            return false;
        }
        switch (node)
        {
            case JsonObject o when Messages.JsonTools.IsBuffer(o):
                // Buffers arrive as Buffer objects (written back as {type:"Buffer",data} at commit).
                value = JsConvert.ToJs(Engine, node);
                _values.Set(key, value);
                return true;
            case JsonObject o:
                value = new JsonObjectView(Engine, _prototype, o, _root);
                _values.Set(key, value);
                return true;
            case JsonArray:
                value = JsConvert.ToJs(Engine, node);
                _values.Set(key, value);
                return true;
            default:
                value = JsConvert.ToJs(Engine, node);
                return true;
        }
    }

    public override bool Set(JsValue property, JsValue value, JsValue receiver)
    {
        CheckLive();
        if (property is not JsString s || !ReferenceEquals(receiver, this))
        {
            return base.Set(property, value, receiver);
        }
        var key = s.ToString();
        _values.Set(key, value);
        if (!_data.ContainsKey(key))
        {
            // Keeps the key order of the object as the script built it; the value is written at commit.
            _data[key] = null;
        }
        return true;
    }

    public override PropertyDescriptor GetOwnProperty(JsValue property)
    {
        CheckLive();
        if (property is JsString s && TryGetValue(s.ToString(), out var value))
        {
            return new PropertyDescriptor(value, PropertyFlag.ConfigurableEnumerableWritable);
        }
        return base.GetOwnProperty(property);
    }

    public override bool DefineOwnProperty(JsValue property, PropertyDescriptor desc)
    {
        if (property is JsString && desc.Value is { } value && !desc.IsAccessorDescriptor())
        {
            return Set(property, value, this);
        }
        return base.DefineOwnProperty(property, desc);
    }

    public override bool Delete(JsValue property)
    {
        CheckLive();
        if (property is JsString s)
        {
            var key = s.ToString();
            _values.Remove(key);
            _data.Remove(key);
            return true;
        }
        return base.Delete(property);
    }

    public override bool HasProperty(JsValue property)
    {
        CheckLive();
        if (property is JsString s && _data.ContainsKey(s.ToString()))
        {
            return true;
        }
        return base.HasProperty(property);
    }

    public override List<JsValue> GetOwnPropertyKeys(Types types = Types.String | Types.Symbol)
    {
        CheckLive();
        var keys = new List<JsValue>(_data.Count);
        if ((types & Types.String) != 0)
        {
            foreach (var (key, _) in _data)
            {
                keys.Add(new JsString(key));
            }
        }
        if ((types & Types.Symbol) != 0)
        {
            keys.AddRange(base.GetOwnPropertyKeys(Types.Symbol));
        }
        return keys;
    }

    public override IEnumerable<KeyValuePair<JsValue, PropertyDescriptor>> GetOwnProperties()
    {
        foreach (var key in GetOwnPropertyKeys(Types.String))
        {
            yield return new(key, GetOwnProperty(key));
        }
    }
}
