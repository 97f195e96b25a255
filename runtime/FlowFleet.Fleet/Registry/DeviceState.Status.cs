using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

public sealed partial class DeviceState
{
    // Info, config and status are kept as UTF-8 JSON (status per component): a parsed tree costs 5-10x the bytes, and
    // thousands of devices are held at once (bench/README.md, "memory per device").
    // Status components as parallel arrays (a device has a handful: a dictionary costs ~3x the bookkeeping). A component's
    // bytes are rewritten in place when the new JSON fits (padded with spaces, which JSON ignores): a status report then
    // allocates nothing that outlives it, so the long-lived heap does not churn at thousands of reports per second.
    private string[] _statusKeys = [];
    private byte[][] _statusValues = [];
    private int _statusCount;
    // Sum of the components' JSON lengths (without padding), held within StatusLimits.Bytes.
    private int _statusBytes;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private int IndexOf(string component)
    {
        for (var i = 0; i < _statusCount; i++)
        {
            if (string.Equals(_statusKeys[i], component, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    private void RemoveAt(int index)
    {
        _statusBytes -= JsonLength(_statusValues[index]);
        _statusCount--;
        Array.Copy(_statusKeys, index + 1, _statusKeys, index, _statusCount - index);
        Array.Copy(_statusValues, index + 1, _statusValues, index, _statusCount - index);
        _statusKeys[_statusCount] = null!;
        _statusValues[_statusCount] = null!;
    }

    private static Utf8JsonWriter Writer(out ArrayBufferWriter<byte> buffer)
    {
        buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        return writer;
    }

    /// <summary>Stores a component's JSON, reusing its current bytes when the new text fits; false when over the limits.</summary>
    private bool Store(string component, JsonNode value, StatusLimits limits)
    {
        var writer = Writer(out var buffer);
        value.WriteTo(writer);
        writer.Flush();
        return Store(component, buffer.WrittenSpan, limits);
    }

    /// <summary>Deep-merges a delta into a stored component straight from its bytes (no parsed copy of the stored state).</summary>
    private bool StoreMerged(int index, JsonObject delta, StatusLimits limits)
    {
        var writer = Writer(out var buffer);
        var stored = (ReadOnlySpan<byte>)_statusValues[index];
        var reader = new Utf8JsonReader(stored);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || !WriteMerged(ref reader, stored, delta, writer))
        {
            // Not an object, or escaped names: merge on a parsed copy instead.
            var current = JsonNode.Parse(stored) as JsonObject ?? [];
            FlowFleet.Fleet.Protocol.ShellyFrames.DeepMerge(current, delta);
            return Store(_statusKeys[index], current, limits);
        }
        writer.Flush();
        return Store(_statusKeys[index], buffer.WrittenSpan, limits);
    }

    /// <summary>
    /// Writes the object at the reader (on its StartObject) merged with <paramref name="delta"/>: delta values replace stored
    /// ones, objects merge recursively, a null removes the key, new keys come last (as <c>ShellyFrames.DeepMerge</c> does).
    /// False when a property name is escaped (the caller falls back).
    /// </summary>
    private static bool WriteMerged(ref Utf8JsonReader reader, ReadOnlySpan<byte> source, JsonObject delta, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        Span<bool> used = delta.Count <= 64 ? stackalloc bool[delta.Count] : new bool[delta.Count];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped)
            {
                return false;
            }
            var name = reader.ValueSpan;
            var match = Match(ref reader, delta, used);
            reader.Read();
            if (match < 0)
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                writer.WritePropertyName(name);
                writer.WriteRawValue(source[start..(int)reader.BytesConsumed], skipInputValidation: true);
                continue;
            }
            used[match] = true;
            var change = delta.GetAt(match).Value;
            if (change is JsonObject inner && reader.TokenType == JsonTokenType.StartObject)
            {
                writer.WritePropertyName(name);
                if (!WriteMerged(ref reader, source, inner, writer))
                {
                    return false;
                }
                continue;
            }
            reader.Skip();
            if (change is not null)
            {
                writer.WritePropertyName(name);
                change.WriteTo(writer);
            }
        }
        for (var i = 0; i < delta.Count; i++)
        {
            if (!used[i] && delta.GetAt(i).Value is { } added)
            {
                writer.WritePropertyName(delta.GetAt(i).Key);
                added.WriteTo(writer);
            }
        }
        writer.WriteEndObject();
        return true;
    }

    /// <summary>
    /// The delta's index of the property at the reader, or -1. A handful of keys are compared in place; beyond that the
    /// delta's own hash lookup is used, so a delta of thousands of keys costs linear time, not keys x stored keys.
    /// </summary>
    private static int Match(ref Utf8JsonReader reader, JsonObject delta, scoped Span<bool> used)
    {
        if (delta.Count > 8)
        {
            var i = delta.IndexOf(reader.GetString()!);
            return i >= 0 && !used[i] ? i : -1;
        }
        for (var i = 0; i < delta.Count; i++)
        {
            if (!used[i] && reader.ValueTextEquals(delta.GetAt(i).Key))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The JSON's length without the padding spaces.</summary>
    private static int JsonLength(byte[] stored) => stored.AsSpan().TrimEnd((byte)' ').Length;

    /// <summary>More than <paramref name="max"/> property names anywhere in the JSON (one linear pass; short JSON can't have them).</summary>
    private static bool HasMoreKeys(ReadOnlySpan<byte> json, int max)
    {
        // Every property takes at least 5 bytes ("":0,), so shorter JSON cannot hold more keys: no pass for usual reports.
        if (json.Length < (long)max * 5)
        {
            return false;
        }
        var reader = new Utf8JsonReader(json);
        var keys = 0;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && ++keys > max)
            {
                return true;
            }
        }
        return false;
    }

    private bool Store(string component, ReadOnlySpan<byte> json, StatusLimits limits)
    {
        var index = IndexOf(component);
        var old = index >= 0 ? JsonLength(_statusValues[index]) : 0;
        if ((index < 0 && _statusCount >= limits.Components) || (long)_statusBytes - old + json.Length > limits.Bytes || HasMoreKeys(json, limits.KeysPerComponent))
        {
            return false;
        }
        _statusBytes += json.Length - old;
        if (index >= 0 && _statusValues[index].Length >= json.Length)
        {
            var target = _statusValues[index];
            json.CopyTo(target);
            target.AsSpan(json.Length).Fill((byte)' ');
            return true;
        }
        // Some room to grow: counters and readings get longer over time.
        var bytes = new byte[json.Length + 16];
        json.CopyTo(bytes);
        bytes.AsSpan(json.Length).Fill((byte)' ');
        if (index >= 0)
        {
            _statusValues[index] = bytes;
            return true;
        }
        if (_statusCount == _statusKeys.Length)
        {
            Array.Resize(ref _statusKeys, Math.Max(4, _statusCount * 2));
            Array.Resize(ref _statusValues, _statusKeys.Length);
        }
        _statusKeys[_statusCount] = string.IsInterned(component) ?? component;
        _statusValues[_statusCount] = bytes;
        _statusCount++;
        return true;
    }

    /// <summary>The cached status: a fresh copy of every component on each get. Change it with <see cref="ReplaceStatus"/> / <see cref="MergeStatus"/>.</summary>
    public JsonObject Status
    {
        get
        {
            var o = new JsonObject();
            for (var i = 0; i < _statusCount; i++)
            {
                o[_statusKeys[i]] = JsonNode.Parse(_statusValues[i]);
            }
            return o;
        }
    }

    /// <summary>One component's status (a copy), or null.</summary>
    public JsonNode? StatusOf(string component) => IndexOf(component) is >= 0 and var i ? JsonNode.Parse(_statusValues[i]) : null;

    public bool HasStatus(string component) => IndexOf(component) >= 0;

    /// <summary>The stored bytes of a component (for tests of the in-place rewrite).</summary>
    internal byte[]? StatusBytes(string component) => IndexOf(component) is >= 0 and var i ? _statusValues[i] : null;

    /// <summary>NotifyFullStatus / GetStatus: the status becomes exactly this (within <paramref name="limits"/>); returns the
    /// number of components dropped for being over the limits.</summary>
    public int ReplaceStatus(JsonObject full, StatusLimits? limits = null)
    {
        limits ??= StatusLimits.Default;
        if (full.Count > limits.Components + 1)
        {
            // A report of more components than a device may have is dropped whole, before any per-key work.
            return full.Count;
        }
        // Components the full status no longer has go; the others are rewritten (in place where they fit).
        for (var i = _statusCount - 1; i >= 0; i--)
        {
            if (!full.ContainsKey(_statusKeys[i]))
            {
                RemoveAt(i);
            }
        }
        return MergeStatus(full, replace: true, limits);
    }

    /// <summary>NotifyStatus: deep-merges a delta (a null value removes the key); <c>ts</c> is not part of the status. Returns
    /// the number of components dropped for being over <paramref name="limits"/> (the rest is applied).</summary>
    public int MergeStatus(JsonObject delta, StatusLimits? limits = null)
    {
        limits ??= StatusLimits.Default;
        return delta.Count > limits.Components + 1 ? delta.Count : MergeStatus(delta, replace: false, limits);
    }

    private int MergeStatus(JsonObject delta, bool replace, StatusLimits limits)
    {
        var dropped = 0;
        foreach (var (key, value) in delta)
        {
            if (key == "ts")
            {
                continue;
            }
            var index = IndexOf(key);
            if (value is null)
            {
                if (index >= 0)
                {
                    RemoveAt(index);
                }
            }
            else if (!(!replace && value is JsonObject changes && index >= 0 ? StoreMerged(index, changes, limits) : Store(key, value, limits)))
            {
                dropped++;
            }
        }
        return dropped;
    }

    /// <summary>Drops the whole status (a pending device that turned out to be an impostor, or over its limits).</summary>
    public void ClearStatus()
    {
        _statusKeys = [];
        _statusValues = [];
        _statusCount = 0;
        _statusBytes = 0;
    }

    internal string StatusJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            for (var i = 0; i < _statusCount; i++)
            {
                w.WritePropertyName(_statusKeys[i]);
                w.WriteRawValue(_statusValues[i].AsSpan().TrimEnd((byte)' '), skipInputValidation: true);
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}

/// <summary>
/// Bounds on one device's status (<see cref="FleetOptions"/>): a device can't make the server's per-frame work or memory grow
/// without limit by inventing keys. Components past <see cref="Components"/>, components with more than
/// <see cref="KeysPerComponent"/> keys (at any depth) and reports that would take the status past <see cref="Bytes"/> are dropped.
/// </summary>
public sealed record StatusLimits(int Components, int KeysPerComponent, int Bytes)
{
    /// <summary>Far above any Shelly device (a Pro 4PM reports ~15 components of ~10 keys, a few KiB).</summary>
    public static readonly StatusLimits Default = new(256, 1024, 256 * 1024);
}
