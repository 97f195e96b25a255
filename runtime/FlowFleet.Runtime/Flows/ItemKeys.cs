using System.Text.Json;

namespace FlowFleet.Runtime.Flows;

/// <summary>
/// What a deploy needs to know of one object of a flow document — id, type, container, group, disabled, position, wires,
/// credentials — read from the bytes the document serialized, not from the parsed object. Reading a property of a parsed
/// object builds all of its properties (a dictionary and a value node each); a `nodes` deploy of one change to a 1,000-node
/// flow built 1,000 of them only to find 999 unchanged.
/// </summary>
internal sealed class ItemKeys
{
    public string? Id { get; private set; }

    public string? Type { get; private set; }

    public string? Z { get; private set; }

    public string? G { get; private set; }

    /// <summary>Node-RED's <c>d</c>: the node is disabled.</summary>
    public bool Disabled { get; private set; }

    public bool HasX { get; private set; }

    public bool HasY { get; private set; }

    public bool HasCredentials { get; private set; }

    /// <summary>The <c>wires</c> value as written: absent or null (nothing), or an array.</summary>
    public WiresShape Wires { get; private set; }

    /// <summary>Per port, the targets (null for a port that is null); set when <see cref="Wires"/> is an array of valid ports.</summary>
    public List<List<string>?>? Ports { get; private set; }

    /// <summary>Why the wires are not an array of arrays of ids, in the words of the document's validation (null when they are).</summary>
    public List<string>? WiresProblems { get; private set; }

    /// <summary>A property named twice (a parsed object would refuse to build), or null.</summary>
    public string? Duplicate { get; private set; }

    public enum WiresShape
    {
        None,
        Array,
        Other,
    }

    /// <summary>Reads the top-level properties of one serialized object.</summary>
    public static ItemKeys Read(ReadOnlySpan<byte> json)
    {
        var keys = new ItemKeys();
        var reader = new Utf8JsonReader(json);
        reader.Read(); // StartObject
        Span<(int Start, int Length)> names = stackalloc (int, int)[32];
        var seen = 0;
        List<(int Start, int Length)>? more = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // The document wrote these bytes itself: names are escaped one way, so equal names are equal bytes.
            var name = reader.ValueSpan;
            var at = ((int)reader.TokenStartIndex + 1, name.Length);
            if (keys.Duplicate is null && IsDuplicate(json, names[..Math.Min(seen, names.Length)], more, name))
            {
                keys.Duplicate = reader.GetString();
            }
            if (seen < names.Length)
            {
                names[seen] = at;
            }
            else
            {
                (more ??= []).Add(at);
            }
            seen++;
            reader.Read();
            if (name.SequenceEqual("id"u8))
            {
                keys.Id = StringOrNull(ref reader);
            }
            else if (name.SequenceEqual("type"u8))
            {
                keys.Type = StringOrNull(ref reader);
            }
            else if (name.SequenceEqual("z"u8))
            {
                keys.Z = StringOrNull(ref reader);
            }
            else if (name.SequenceEqual("g"u8))
            {
                keys.G = StringOrNull(ref reader);
            }
            else if (name.SequenceEqual("d"u8))
            {
                keys.Disabled = reader.TokenType == JsonTokenType.True;
            }
            else if (name.SequenceEqual("x"u8))
            {
                keys.HasX = true;
            }
            else if (name.SequenceEqual("y"u8))
            {
                keys.HasY = true;
            }
            else if (name.SequenceEqual("credentials"u8))
            {
                keys.HasCredentials = true;
            }
            else if (name.SequenceEqual("wires"u8))
            {
                keys.ReadWires(ref reader);
                continue;
            }
            reader.Skip();
        }
        return keys;
    }

    private static bool IsDuplicate(ReadOnlySpan<byte> json, ReadOnlySpan<(int Start, int Length)> names, List<(int Start, int Length)>? more, ReadOnlySpan<byte> name)
    {
        foreach (var (start, length) in names)
        {
            if (json.Slice(start, length).SequenceEqual(name))
            {
                return true;
            }
        }
        if (more is not null)
        {
            foreach (var (start, length) in more)
            {
                if (json.Slice(start, length).SequenceEqual(name))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static string? StringOrNull(ref Utf8JsonReader reader) => reader.TokenType == JsonTokenType.String ? reader.GetString() : null;

    /// <summary>Reads the wires value (the reader is on its first token) and leaves the reader on its last token.</summary>
    private void ReadWires(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            Wires = WiresShape.None;
            return;
        }
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            Wires = WiresShape.Other;
            reader.Skip();
            return;
        }
        Wires = WiresShape.Array;
        var ports = new List<List<string>?>();
        for (var p = 0; reader.Read() && reader.TokenType != JsonTokenType.EndArray; p++)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                ports.Add(null);
                continue;
            }
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                (WiresProblems ??= []).Add($"wires[{p}] must be an array of node ids");
                reader.Skip();
                ports.Add(null);
                continue;
            }
            var targets = new List<string>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.String)
                {
                    targets.Add(reader.GetString()!);
                }
                else
                {
                    (WiresProblems ??= []).Add($"wires[{p}] holds a non-string id");
                    reader.Skip();
                }
            }
            ports.Add(targets);
        }
        Ports = ports;
    }
}
