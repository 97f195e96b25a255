using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Messages;

/// <summary>
/// Node-RED property expressions: <c>payload.a[0]["b c"]</c>. Parsed once into segments; get, set (creating
/// intermediate objects/arrays) and delete work on any <see cref="JsonNode"/>.
/// </summary>
public sealed partial class PropertyPath
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, PropertyPath> s_cache = new(StringComparer.Ordinal);

    private readonly object[] _segments;

    private PropertyPath(string text, object[] segments)
    {
        Text = text;
        _segments = segments;
    }

    public string Text { get; }

    /// <summary>Each segment is a <see cref="string"/> (object key) or an <see cref="int"/> (array index).</summary>
    public IReadOnlyList<object> Segments => _segments;

    public static PropertyPath Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (s_cache.TryGetValue(text, out var cached))
        {
            return cached;
        }
        var parsed = new PropertyPath(text, ParseSegments(text));
        if (s_cache.Count < 10_000)
        {
            s_cache.TryAdd(text, parsed);
        }
        return parsed;
    }

    private static object[] ParseSegments(string text)
    {
        var segments = new List<object>();
        var i = 0;
        var expectKey = true;
        text = text.Trim();
        if (text.Length == 0)
        {
            throw new FormatException("Invalid property expression: empty");
        }
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '.')
            {
                if (expectKey)
                {
                    throw Invalid(text, i);
                }
                expectKey = true;
                i++;
                continue;
            }
            if (c == '[')
            {
                i++;
                if (i >= text.Length)
                {
                    throw Invalid(text, i);
                }
                if (text[i] is '"' or '\'')
                {
                    var quote = text[i++];
                    var sb = new StringBuilder();
                    while (i < text.Length && text[i] != quote)
                    {
                        if (text[i] == '\\' && i + 1 < text.Length)
                        {
                            i++;
                        }
                        sb.Append(text[i++]);
                    }
                    if (i + 1 >= text.Length || text[i + 1] != ']')
                    {
                        throw Invalid(text, i);
                    }
                    segments.Add(sb.ToString());
                    i += 2;
                }
                else
                {
                    var end = text.IndexOf(']', i);
                    if (end < 0 || !int.TryParse(text.AsSpan(i, end - i), NumberStyles.Integer, CultureInfo.InvariantCulture, out var index))
                    {
                        throw Invalid(text, i);
                    }
                    segments.Add(index);
                    i = end + 1;
                }
                expectKey = false;
                continue;
            }
            if (!expectKey)
            {
                throw Invalid(text, i);
            }
            var start = i;
            while (i < text.Length && text[i] is not '.' and not '[')
            {
                if (char.IsWhiteSpace(text[i]))
                {
                    throw Invalid(text, i);
                }
                i++;
            }
            segments.Add(text[start..i]);
            expectKey = false;
        }
        if (expectKey)
        {
            throw Invalid(text, text.Length);
        }
        return segments.ToArray();
    }

    private static FormatException Invalid(string text, int at) =>
        new($"Invalid property expression: unexpected character at position {at} of '{text}'");

    public JsonNode? Get(JsonNode? root) => TryGet(root, out var value) ? value : null;

    /// <summary>True when every step exists (the value itself may be JSON null).</summary>
    public bool TryGet(JsonNode? root, out JsonNode? value)
    {
        var current = root;
        foreach (var segment in _segments)
        {
            switch (segment)
            {
                case string key when current is JsonObject obj:
                    if (!obj.TryGetPropertyValue(key, out current))
                    {
                        value = null;
                        return false;
                    }
                    break;
                case string key when current is JsonArray arr && key == "length":
                    current = JsonValue.Create(arr.Count);
                    break;
                case int index when current is JsonArray arr && index >= 0 && index < arr.Count:
                    current = arr[index];
                    break;
                case int index when current is JsonObject obj && obj.TryGetPropertyValue(index.ToString(CultureInfo.InvariantCulture), out var v):
                    current = v;
                    break;
                default:
                    value = null;
                    return false;
            }
        }
        value = current;
        return true;
    }

    /// <summary>Sets the value, creating missing objects (or arrays before an index) along the way.</summary>
    public void Set(JsonNode root, JsonNode? value)
    {
        ArgumentNullException.ThrowIfNull(root);
        // The value lands _segments.Length levels below root: with what it holds, it must stay within the depth limit.
        var budget = JsonDepth.Max - JsonDepth.Level(root) - _segments.Length;
        if (value is JsonObject or JsonArray)
        {
            if (value.Parent is not null || IsAncestorOrSelf(value, root))
            {
                // Copied (a value set into itself would make a cycle); the copy checks the depth on the way.
                value = JsonDepth.Clone(value, budget);
            }
            else
            {
                JsonDepth.Check(value, budget);
            }
        }
        else
        {
            value = JsonTools.Detach(value);
        }
        if (budget < 0)
        {
            throw new JsonDepthException($"Property path {Text} nests the message more than {JsonDepth.Max} levels deep");
        }
        var current = root;
        for (var s = 0; s < _segments.Length - 1; s++)
        {
            var segment = _segments[s];
            var next = _segments[s + 1];
            var child = Step(current, segment);
            if (child is not JsonObject and not JsonArray)
            {
                child = next is int ? new JsonArray() : new JsonObject();
                Assign(current, segment, child);
            }
            current = child;
        }
        Assign(current, _segments[^1], value);
    }

    public bool Delete(JsonNode? root)
    {
        var parent = root;
        for (var s = 0; s < _segments.Length - 1 && parent is not null; s++)
        {
            parent = Step(parent, _segments[s]);
        }
        switch (_segments[^1])
        {
            case string key when parent is JsonObject obj:
                return obj.Remove(key);
            case int index when parent is JsonArray arr && index >= 0 && index < arr.Count:
                arr[index] = JsSpecial.UndefinedNode();
                return true;
            default:
                return false;
        }
    }

    /// <summary>Items an assignment may add to an array (<c>payload[100000000] = 1</c> would otherwise allocate them all).</summary>
    private const int MaxArrayGrowth = 1_000_000;

    private static bool IsAncestorOrSelf(JsonNode value, JsonNode node)
    {
        for (JsonNode? p = node; p is not null; p = p.Parent)
        {
            if (ReferenceEquals(p, value))
            {
                return true;
            }
        }
        return false;
    }

    private static JsonNode? Step(JsonNode node, object segment) => segment switch
    {
        string key when node is JsonObject obj => obj[key],
        int index when node is JsonArray arr => index >= 0 && index < arr.Count ? arr[index] : null,
        int index when node is JsonObject obj => obj[index.ToString(CultureInfo.InvariantCulture)],
        _ => null,
    };

    private static void Assign(JsonNode node, object segment, JsonNode? value)
    {
        switch (segment)
        {
            case string key when node is JsonObject obj:
                obj[key] = value;
                break;
            case int index when node is JsonArray arr:
                if (index > arr.Count + MaxArrayGrowth)
                {
                    throw new InvalidOperationException($"Array index {index} is too far beyond the array's end ({arr.Count} items)");
                }
                // Holes are undefined in JavaScript (shown so by Node-RED); a huge gap stays plain nulls to bound memory.
                var holes = index - arr.Count <= 4096;
                while (arr.Count <= index)
                {
                    arr.Add(holes ? JsSpecial.UndefinedNode() : null);
                }
                arr[index] = value;
                break;
            case int index when node is JsonObject obj:
                obj[index.ToString(CultureInfo.InvariantCulture)] = value;
                break;
            default:
                throw new InvalidOperationException($"Cannot set property '{segment}' on a {JsonTools.TypeOf(node)}");
        }
    }

    public override string ToString() => Text;
}
