using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// The status merge straight from a frame's parsed document (<see cref="JsonElement"/>): the device hub's path for every
/// NotifyStatus / NotifyFullStatus (issue 19). Same results as the <see cref="JsonObject"/> overloads, without building a
/// tree of the report: a component that changed is written from the element into the stored bytes, in place where it fits.
/// </summary>
public sealed partial class DeviceState
{
    /// <summary>NotifyFullStatus from a parsed frame: as <see cref="ReplaceStatus(JsonObject, StatusLimits?)"/>.</summary>
    public int ReplaceStatus(JsonElement full, StatusLimits? limits = null)
    {
        limits ??= StatusLimits.Default;
        var count = CountWithoutTs(full);
        if (count > limits.Components + 1)
        {
            return count;
        }
        for (var i = _statusCount - 1; i >= 0; i--)
        {
            if (!full.TryGetProperty(_statusKeys[i], out _))
            {
                RemoveAt(i);
            }
        }
        return MergeStatus(full, replace: true, limits);
    }

    /// <summary>NotifyStatus from a parsed frame: as <see cref="MergeStatus(JsonObject, StatusLimits?)"/>.</summary>
    public int MergeStatus(JsonElement delta, StatusLimits? limits = null)
    {
        limits ??= StatusLimits.Default;
        var count = CountWithoutTs(delta);
        return count > limits.Components + 1 ? count : MergeStatus(delta, replace: false, limits);
    }

    // The tree overloads count the report as handed to them, and the hub took "ts" out of it first.
    private static int CountWithoutTs(JsonElement o) => o.GetPropertyCount() - (o.TryGetProperty("ts"u8, out _) ? 1 : 0);

    private int MergeStatus(JsonElement delta, bool replace, StatusLimits limits)
    {
        var dropped = 0;
        foreach (var property in delta.EnumerateObject())
        {
            if (property.NameEquals("ts"u8))
            {
                continue;
            }
            var index = IndexOf(property);
            var value = property.Value;
            if (value.ValueKind == JsonValueKind.Null)
            {
                if (index >= 0)
                {
                    RemoveAt(index);
                }
                continue;
            }
            var stored = !replace && value.ValueKind == JsonValueKind.Object && index >= 0
                ? StoreMerged(index, value, limits)
                : Store(index >= 0 ? _statusKeys[index] : property.Name, value, limits);
            if (!stored)
            {
                dropped++;
            }
        }
        return dropped;
    }

    /// <summary>The stored component named like <paramref name="property"/>, compared without making a string of the name.</summary>
    private int IndexOf(JsonProperty property)
    {
        // An ASCII name compares with each key as it is (NameEquals transcodes the key on every call); others as before.
        var raw = JsonMarshal.GetRawUtf8PropertyName(property);
        var ascii = System.Text.Ascii.IsValid(raw) && raw.IndexOf((byte)'\\') < 0;
        for (var i = 0; i < _statusCount; i++)
        {
            if (ascii ? System.Text.Ascii.Equals(raw, _statusKeys[i]) : property.NameEquals(_statusKeys[i]))
            {
                return i;
            }
        }
        return -1;
    }

    private bool Store(string component, JsonElement value, StatusLimits limits)
    {
        var writer = Writer(out var buffer);
        value.WriteTo(writer);
        writer.Flush();
        return Store(component, buffer.WrittenSpan, limits);
    }

    private bool StoreMerged(int index, JsonElement delta, StatusLimits limits)
    {
        if (!Mergeable(delta))
        {
            // Escaped or many names in the report: the tree merge, which handles both.
            return StoreMerged(index, (JsonObject)JsonNode.Parse(JsonMarshal.GetRawUtf8Value(delta))!, limits);
        }
        var writer = Writer(out var buffer);
        var stored = (ReadOnlySpan<byte>)_statusValues[index];
        var reader = new Utf8JsonReader(stored);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || !WriteMerged(ref reader, stored, delta, writer))
        {
            var current = JsonNode.Parse(stored) as JsonObject ?? [];
            FlowFleet.Fleet.Protocol.ShellyFrames.DeepMerge(current, (JsonObject)JsonNode.Parse(JsonMarshal.GetRawUtf8Value(delta))!);
            return Store(_statusKeys[index], current, limits);
        }
        writer.Flush();
        return Store(_statusKeys[index], buffer.WrittenSpan, limits);
    }

    /// <summary>
    /// True when every object in the report has at most 8 names, none escaped: then names compare as raw bytes, and the
    /// stored × reported comparisons stay small (larger reports take the tree merge and its hash lookup).
    /// </summary>
    private static bool Mergeable(JsonElement o)
    {
        var count = 0;
        foreach (var property in o.EnumerateObject())
        {
            if (++count > 8 || JsonMarshal.GetRawUtf8PropertyName(property).IndexOf((byte)'\\') >= 0
                || (property.Value.ValueKind == JsonValueKind.Object && !Mergeable(property.Value)))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>As the tree overload: delta values replace stored ones, objects merge, a null removes the key, new keys come last.</summary>
    private static bool WriteMerged(ref Utf8JsonReader reader, ReadOnlySpan<byte> source, JsonElement delta, Utf8JsonWriter writer)
    {
        // The report's members (at most 8: Mergeable) read once, not once per stored name; their names are slices of its bytes.
        var members = new Members();
        Span<Range> names = stackalloc Range[8];
        var raw = JsonMarshal.GetRawUtf8Value(delta);
        var count = 0;
        foreach (var property in delta.EnumerateObject())
        {
            var name = JsonMarshal.GetRawUtf8PropertyName(property);
            var start = (int)Unsafe.ByteOffset(ref MemoryMarshal.GetReference(raw), ref MemoryMarshal.GetReference(name));
            names[count] = new Range(start, start + name.Length);
            members[count++] = property.Value;
        }
        writer.WriteStartObject();
        var used = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped)
            {
                return false;
            }
            var name = reader.ValueSpan;
            var match = -1;
            JsonElement change = default;
            for (var k = 0; k < count; k++)
            {
                if ((used & (1 << k)) == 0 && raw[names[k]].SequenceEqual(name))
                {
                    (match, change) = (k, members[k]);
                    break;
                }
            }
            reader.Read();
            if (match < 0)
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                writer.WritePropertyName(name);
                writer.WriteRawValue(source[start..(int)reader.BytesConsumed], skipInputValidation: true);
                continue;
            }
            used |= 1 << match;
            if (change.ValueKind == JsonValueKind.Object && reader.TokenType == JsonTokenType.StartObject)
            {
                writer.WritePropertyName(name);
                if (!WriteMerged(ref reader, source, change, writer))
                {
                    return false;
                }
                continue;
            }
            reader.Skip();
            if (change.ValueKind != JsonValueKind.Null)
            {
                writer.WritePropertyName(name);
                change.WriteTo(writer);
            }
        }
        if (used != (1 << count) - 1)
        {
            var i = 0;
            foreach (var property in delta.EnumerateObject())
            {
                if ((used & (1 << i)) == 0 && property.Value.ValueKind != JsonValueKind.Null)
                {
                    property.WriteTo(writer);
                }
                i++;
            }
        }
        writer.WriteEndObject();
        return true;
    }

    [InlineArray(8)]
    private struct Members
    {
        private JsonElement _first;
    }
}
