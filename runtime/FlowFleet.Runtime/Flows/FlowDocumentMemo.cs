using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Flows;

/// <summary>
/// The last flow array a client sent, as it sent it, and the document made of it. A deploy that sends most objects byte for
/// byte as last time (an editor's `nodes` deploy of one change, or the same flows again) takes those objects' serialised
/// bytes and keys from that document instead of writing and reading all 1,000 of them again. Matching is on the bytes sent,
/// so whatever the memo holds, a document is the one its array makes.
/// </summary>
public sealed class FlowDocumentMemo
{
    private readonly Lock _gate = new();
    private byte[] _sent = [];
    private int _sentLength;
    private (int Start, int Length)[] _sentItems = [];
    private FlowDocument? _document;

    /// <summary>
    /// Notes where a top-level array's item is, for a token at depth 1 read by <paramref name="reader"/> from the sent bytes:
    /// an object's start (kept in <paramref name="objectStart"/> until its end) and length, or a start below zero for an
    /// item that is not an object. The places <see cref="Adopt"/> takes, noted on a pass the caller makes anyway.
    /// </summary>
    public static void NoteItem(ref Utf8JsonReader reader, List<(int Start, int Length)> items, ref int objectStart)
    {
        ArgumentNullException.ThrowIfNull(items);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                objectStart = (int)reader.TokenStartIndex;
                break;
            case JsonTokenType.EndObject:
                items.Add((objectStart, (int)reader.BytesConsumed - objectStart));
                break;
            case JsonTokenType.EndArray:
                break;
            default:
                items.Add((-1, 0));
                break;
        }
    }

    /// <summary>
    /// <see cref="FlowDocument.Adopt(JsonNode?)"/> of <paramref name="array"/>, parsed from <paramref name="sent"/>, whose
    /// top-level items are at <paramref name="items"/> (start and length in <paramref name="sent"/>; a start below zero for
    /// an item that is not an object). A document that fails validation is not remembered.
    /// </summary>
    public FlowDocument Adopt(JsonArray array, ReadOnlySpan<byte> sent, IReadOnlyList<(int Start, int Length)> items)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentNullException.ThrowIfNull(items);
        FlowDocument? previous;
        bool[]? same = null;
        lock (_gate)
        {
            previous = _document;
            if (previous is not null && items.Count == array.Count && items.Count == _sentItems.Length)
            {
                same = new bool[items.Count];
                var before = _sent.AsSpan(0, _sentLength);
                for (var i = 0; i < same.Length; i++)
                {
                    var (start, length) = items[i];
                    var (oldStart, oldLength) = _sentItems[i];
                    same[i] = start >= 0 && oldStart >= 0 && length == oldLength &&
                        sent.Slice(start, length).SequenceEqual(before.Slice(oldStart, oldLength));
                }
            }
        }
        var doc = previous is not null && same is not null ? FlowDocument.Adopt(array, previous, same) : FlowDocument.Adopt(array);
        lock (_gate)
        {
            // Kept in one buffer that grows as needed (a fresh ~240 KB array per deploy would be a large-object allocation).
            if (_sent.Length < sent.Length)
            {
                _sent = new byte[sent.Length];
            }
            sent.CopyTo(_sent);
            _sentLength = sent.Length;
            _sentItems = [.. items];
            _document = doc;
        }
        return doc;
    }
}
