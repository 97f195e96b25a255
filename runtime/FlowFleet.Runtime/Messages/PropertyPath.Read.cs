using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Messages;

public sealed partial class PropertyPath
{
    // A JsonObject made over a JsonElement (JsonObject.Create, JsonNode.Parse) keeps the element until its first read, which
    // builds every member as a node at once (issue 19: shelly in's component, built per device frame only for a switch to read
    // one number from it, ~0.25 µs and ~800 B). The object's own internal read of the two (the element first, then the
    // members: safe against another thread building them meanwhile), called without reflection; when a runtime names it
    // otherwise, reads fall back to TryGet.
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "GetUnderlyingRepresentation")]
    private static extern void UnderlyingRepresentation(JsonObject o, out OrderedDictionary<string, JsonNode?>? dictionary, out JsonElement? element);

    private static bool s_noElementReads;

    /// <summary>
    /// <see cref="TryGet"/> for a caller that only reads the value (compares or copies it, never changes it or asks for its
    /// parent): a number, string or boolean inside an object still held as its JSON is read from that JSON, without building
    /// the object's members; such a value is a node of its own, not one of the message's tree. Whenever the answer could
    /// differ from <see cref="TryGet"/>'s (the value is an object or an array, a name is escaped or repeated, names are
    /// compared ignoring case) this is <see cref="TryGet"/>.
    /// </summary>
    public bool TryRead(JsonNode? root, out JsonNode? value)
    {
        var current = root;
        for (var s = 0; s < _segments.Length; s++)
        {
            if (current is JsonObject obj && Unbuilt(obj) is { } element)
            {
                var read = ReadElement(element, s, obj.Options, out value);
                if (read is not null)
                {
                    return read.Value;
                }
                break;
            }
            if (!Step(current, _segments[s], out current))
            {
                value = null;
                return false;
            }
        }
        return TryGet(root, out value);
    }

    /// <summary>One step as <see cref="TryGet"/> takes it.</summary>
    private static bool Step(JsonNode? current, object segment, out JsonNode? next)
    {
        switch (segment)
        {
            case string key when current is JsonObject obj:
                return obj.TryGetPropertyValue(key, out next);
            case string key when current is JsonArray arr && key == "length":
                next = JsonValue.Create(arr.Count);
                return true;
            case int index when current is JsonArray arr && index >= 0 && index < arr.Count:
                next = arr[index];
                return true;
            case int index when current is JsonObject obj:
                return obj.TryGetPropertyValue(index.ToString(CultureInfo.InvariantCulture), out next);
            default:
                next = null;
                return false;
        }
    }

    /// <summary>The element an object still holds instead of its members, or null once they are built.</summary>
    private static JsonElement? Unbuilt(JsonObject obj)
    {
        if (Volatile.Read(ref s_noElementReads) || obj.Options is { PropertyNameCaseInsensitive: true })
        {
            return null;
        }
        try
        {
            UnderlyingRepresentation(obj, out var dictionary, out var element);
            return dictionary is null ? element : null;
        }
        catch (MissingMethodException)
        {
            Volatile.Write(ref s_noElementReads, true);
            return null;
        }
    }

    /// <summary>
    /// The rest of the path from segment <paramref name="from"/> over an element: true or false as <see cref="TryGet"/>
    /// answers, or null when only <see cref="TryGet"/> may answer (see <see cref="TryRead"/>).
    /// </summary>
    private bool? ReadElement(JsonElement current, int from, JsonNodeOptions? options, out JsonNode? value)
    {
        value = null;
        for (var s = from; s < _segments.Length; s++)
        {
            var segment = _segments[s];
            switch (current.ValueKind)
            {
                case JsonValueKind.Object:
                    if (Utf8Name(s) is not { } name)
                    {
                        return null;
                    }
                    var found = Member(current, name, out current);
                    if (found is not true)
                    {
                        return found;
                    }
                    break;
                case JsonValueKind.Array when segment is "length":
                    if (s != _segments.Length - 1)
                    {
                        // As a node: JsonValue has no members.
                        return false;
                    }
                    value = JsonValue.Create(current.GetArrayLength());
                    return true;
                case JsonValueKind.Array when segment is int index && index >= 0 && index < current.GetArrayLength():
                    current = current[index];
                    break;
                default:
                    return false;
            }
        }
        switch (current.ValueKind)
        {
            case JsonValueKind.Object or JsonValueKind.Array:
                // The tree's own node: a caller may hold on to it as part of the message.
                return null;
            case JsonValueKind.Null:
                return true;
            default:
                value = JsonValue.Create(current, options);
                return true;
        }
    }

    /// <summary>
    /// An object element's member as the object's dictionary would find it: true, false (no such member), or null when the
    /// dictionary is not the element's plain view (an escaped name, or a repeated one, which building the members throws on).
    /// </summary>
    private static bool? Member(JsonElement obj, ReadOnlySpan<byte> key, out JsonElement member)
    {
        member = default;
        var count = 0;
        var found = false;
        Span<Range> names = stackalloc Range[16];
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(obj);
        foreach (var property in obj.EnumerateObject())
        {
            var name = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(property);
            if (count == names.Length || name.IndexOf((byte)'\\') >= 0)
            {
                return null;
            }
            for (var i = 0; i < count; i++)
            {
                if (raw[names[i]].SequenceEqual(name))
                {
                    return null;
                }
            }
            names[count++] = Offset(raw, name);
            if (!found && name.SequenceEqual(key))
            {
                (found, member) = (true, property.Value);
            }
        }
        return found;
    }

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(false, true);
    private byte[]?[]? _utf8Names;

    /// <summary>
    /// A segment as the UTF-8 name an object member must have (an index as its digits), made once per path; null for a
    /// name with a lone surrogate, which no unescaped member name matches as a string.
    /// </summary>
    private byte[]? Utf8Name(int segment)
    {
        var names = _utf8Names;
        if (names is null)
        {
            names = new byte[_segments.Length][];
            for (var i = 0; i < names.Length; i++)
            {
                try
                {
                    names[i] = StrictUtf8.GetBytes(_segments[i] as string ?? ((int)_segments[i]).ToString(CultureInfo.InvariantCulture));
                }
                catch (ArgumentException)
                {
                    names[i] = null;
                }
            }
            _utf8Names = names;
        }
        return names[segment];
    }

    private static Range Offset(ReadOnlySpan<byte> whole, ReadOnlySpan<byte> part)
    {
        var start = (int)Unsafe.ByteOffset(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(whole),
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(part));
        return new Range(start, start + part.Length);
    }
}
