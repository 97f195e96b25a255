using System.Buffers;
using System.Text.Json;

namespace FlowFleet.Runtime.Flows;

/// <summary>
/// A document's indented JSON (what <c>flows.json</c> holds), written item by item: an item whose serialised bytes are the
/// same as at the previous write takes its indented bytes from then. Indenting a whole 1,000-node document (parse it again,
/// write it out) took ~3.5 ms of a one-node deploy's answer on a 2-core machine; the same bytes always indent the same way.
/// </summary>
internal sealed class IndentedFlows
{
    private static readonly JsonWriterOptions s_indented = new() { Indented = true };
    private static readonly byte[] s_newLine = System.Text.Encoding.UTF8.GetBytes(s_indented.NewLine);

    // Per id: the serialised bytes an item was indented from and its indented bytes (as at depth 1 of the array). The
    // serialised bytes are the document's own: each item's are an array of their own (FlowDocument.Bytes), shared with the
    // next document while the item is unchanged, so holding them keeps no more than that item alive and costs no copy.
    private readonly Dictionary<string, (ReadOnlyMemory<byte> Json, byte[] Indented)> _items = new(StringComparer.Ordinal);

    /// <summary>
    /// Writes <paramref name="doc"/> as <see cref="Utf8JsonWriter"/> writes its array with <c>Indented</c> (byte for byte).
    /// Not thread-safe: one writer at a time.
    /// </summary>
    public void Write(FlowDocument doc, PooledBufferWriter output)
    {
        var count = doc.ItemCount;
        if (count == 0)
        {
            output.Write("[]"u8);
            return;
        }
        output.Write("["u8);
        for (var i = 0; i < count; i++)
        {
            var id = doc.ItemId(i);
            var json = doc.ItemJson(i);
            if (!_items.TryGetValue(id, out var kept) || !kept.Json.Span.SequenceEqual(json.Span))
            {
                kept = (json, Indent(json));
                _items[id] = kept;
            }
            if (i > 0)
            {
                output.Write(","u8);
            }
            output.Write(s_newLine);
            output.Write(kept.Indented);
        }
        output.Write(s_newLine);
        output.Write("]"u8);
        if (_items.Count > count)
        {
            // Ids gone from the flows: not kept for ever.
            foreach (var id in _items.Keys.Where(id => doc.JsonOf(id).IsEmpty).ToList())
            {
                _items.Remove(id);
            }
        }
    }

    /// <summary>One item indented as it is inside the array: written in an array of its own, without that array's brackets.</summary>
    private static byte[] Indent(ReadOnlyMemory<byte> json)
    {
        using var buffer = new PooledBufferWriter(json.Length * 2 + 16);
        using (var parsed = JsonDocument.Parse(json))
        using (var writer = new Utf8JsonWriter(buffer, s_indented))
        {
            writer.WriteStartArray();
            parsed.RootElement.WriteTo(writer);
            writer.WriteEndArray();
        }
        // "[" newline ... newline "]"
        var start = 1 + s_newLine.Length;
        return buffer.WrittenSpan[start..^(1 + s_newLine.Length)].ToArray();
    }
}
