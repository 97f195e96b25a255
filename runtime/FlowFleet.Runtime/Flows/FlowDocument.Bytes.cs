using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Flows;

/// <summary>
/// A document's serialised form, item by item: each object's bytes are an array of their own, or the previous document's
/// for an object sent as then (no copy). The whole array's bytes are put together only for a reader that needs them at once
/// (the rev's hash and the history, from a pooled buffer): one array of ~210 KB per 1,000-node deploy was a large-object-heap
/// allocation, and the large-object budget brought a full (gen-2) collection every few deploys.
/// </summary>
public sealed partial class FlowDocument
{
    // Per item of Raw, its serialised bytes (indexed by id once Index has run).
    private readonly ReadOnlyMemory<byte>[] _items;
    private byte[]? _utf8;
    private string? _json;

    /// <summary>How many objects the array holds (a validated document holds nothing else).</summary>
    internal int ItemCount => _items.Length;

    /// <summary>The serialised bytes of the array's item at <paramref name="index"/>.</summary>
    internal ReadOnlyMemory<byte> ItemJson(int index) => _items[index];

    /// <summary>The id of the array's item at <paramref name="index"/>.</summary>
    internal string ItemId(int index) => IdOf((JsonObject)Raw[index]!);

    /// <summary>The length of <see cref="Utf8Json"/>.</summary>
    internal int Utf8Length { get; }

    /// <summary>The serialized flow array (made on first use).</summary>
    public string Json => _json ??= Encoding.UTF8.GetString(Utf8Json.Span);

    /// <summary>
    /// The serialized flow array as UTF-8, as <see cref="JsonNode.ToJsonString"/> writes it (made on first use: the deploy
    /// path reads the items, or a pooled copy from <see cref="RentUtf8Json"/>).
    /// </summary>
    public ReadOnlyMemory<byte> Utf8Json
    {
        get
        {
            if (_utf8 is null)
            {
                using var whole = RentUtf8Json();
                _utf8 = whole.WrittenSpan.ToArray();
            }
            return _utf8;
        }
    }

    /// <summary>The serialized flow array in a pooled buffer, for the caller to dispose.</summary>
    internal PooledBufferWriter RentUtf8Json()
    {
        var buffer = new PooledBufferWriter(Utf8Length);
        buffer.Write("["u8);
        for (var i = 0; i < _items.Length; i++)
        {
            if (i > 0)
            {
                buffer.Write(","u8);
            }
            buffer.Write(_items[i].Span);
        }
        buffer.Write("]"u8);
        return buffer;
    }

    private static int Length(ReadOnlyMemory<byte>[] items)
    {
        // The brackets and a comma between items.
        var length = 1 + Math.Max(items.Length, 1);
        foreach (var item in items)
        {
            length += item.Length;
        }
        return length;
    }

    /// <summary>
    /// Each item as <see cref="JsonNode.ToJsonString"/> writes it (same writer options, so the same rev); an item sent as in
    /// <paramref name="reuse"/>'s document takes that document's bytes.
    /// </summary>
    private static ReadOnlyMemory<byte>[] Serialize(JsonArray raw, (FlowDocument Previous, bool[] Same)? reuse)
    {
        var items = new ReadOnlyMemory<byte>[raw.Count];
        using var buffer = new PooledBufferWriter(1024);
        using var writer = new Utf8JsonWriter(buffer);
        for (var i = 0; i < raw.Count; i++)
        {
            if (reuse is { } r && r.Same[i])
            {
                // The bytes this item serialised to last time (ToJsonString's output is a function of the JSON).
                items[i] = r.Previous._items[i];
                continue;
            }
            buffer.Clear();
            writer.Reset(buffer);
            if (raw[i] is { } item)
            {
                item.WriteTo(writer);
            }
            else
            {
                writer.WriteNullValue();
            }
            writer.Flush();
            items[i] = buffer.WrittenSpan.ToArray();
        }
        return items;
    }
}
