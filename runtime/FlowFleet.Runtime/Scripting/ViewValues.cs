using System.Diagnostics.CodeAnalysis;
using Jint.Native;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// A <see cref="JsonObjectView"/>'s script-side values by property name. Most views hold one — <c>msg</c> the view of
/// <c>msg.payload</c>, <c>msg.payload</c> the field the script set — so the first is kept inline and only more go to a
/// dictionary: two dictionaries per function-node message were ~400 bytes of its allocations.
/// </summary>
internal struct ViewValues
{
    private Dictionary<string, JsValue>? _more;

    /// <summary>The inline entry's name (null when empty).</summary>
    public string? Key { get; private set; }

    public JsValue? Value { get; private set; }

    /// <summary>Entries beyond the inline one.</summary>
    public readonly IReadOnlyDictionary<string, JsValue>? More => _more;

    public readonly bool IsEmpty => Key is null && (_more is null || _more.Count == 0);

    public readonly bool TryGetValue(string key, [MaybeNullWhen(false)] out JsValue value)
    {
        if (Key is not null && string.Equals(Key, key, StringComparison.Ordinal))
        {
            value = Value!;
            return true;
        }
        if (_more is not null && _more.TryGetValue(key, out value))
        {
            return true;
        }
        value = null;
        return false;
    }

    public void Set(string key, JsValue value)
    {
        if (Key is not null && string.Equals(Key, key, StringComparison.Ordinal))
        {
            Value = value;
        }
        else if (Key is null && (_more is null || !_more.ContainsKey(key)))
        {
            (Key, Value) = (key, value);
        }
        else
        {
            (_more ??= new(StringComparer.Ordinal))[key] = value;
        }
    }

    public void Remove(string key)
    {
        if (Key is not null && string.Equals(Key, key, StringComparison.Ordinal))
        {
            (Key, Value) = (null, null);
        }
        else
        {
            _more?.Remove(key);
        }
    }
}
