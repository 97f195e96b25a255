using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Flows;

/// <summary>
/// The last flow array a client sent, as it sent it, and the document made of it. A deploy that sends most objects byte for
/// byte as last time (an editor's `nodes` deploy of one change, or the same flows again) takes those objects' serialised
/// bytes and keys from that document instead of writing and reading all 1,000 of them again. Matching is on the bytes sent,
/// so whatever the memo holds, a document is the one its array makes.
/// </summary>
public sealed partial class FlowDocumentMemo
{
    private readonly Lock _gate = new();
    private byte[] _sent = [];
    private int _sentLength;
    private (int Start, int Length)[] _sentItems = [];
    private FlowDocument? _document;

    // Per item of the last document, the element its object was made from (each in a small document of its own).
    private JsonElement[] _elements = [];

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
    /// The document of the flow array <paramref name="sent"/> (checked JSON), whose top-level items are at
    /// <paramref name="items"/> (start and length in <paramref name="sent"/>; a start below zero for an item that is not an
    /// object). The array is made item by item, each object from its own bytes: one sent byte for byte as last time at the
    /// same place is the element parsed then (nothing is parsed again), and its serialised bytes and keys are taken from
    /// the last document. Parsing the whole body at once copied it and built its token table, two large-object-heap arrays
    /// (~1 MB for 1,000 nodes) per deploy, which brought a full collection every few deploys. A document that fails
    /// validation is not remembered.
    /// </summary>
    public FlowDocument Adopt(ReadOnlySpan<byte> sent, IReadOnlyList<(int Start, int Length)> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        FlowDocument? previous;
        JsonElement[] before;
        bool[]? same = null;
        lock (_gate)
        {
            previous = _document;
            before = _elements;
            if (previous is not null && items.Count == _sentItems.Length)
            {
                same = new bool[items.Count];
                var old = _sent.AsSpan(0, _sentLength);
                for (var i = 0; i < same.Length; i++)
                {
                    var (start, length) = items[i];
                    var (oldStart, oldLength) = _sentItems[i];
                    same[i] = start >= 0 && oldStart >= 0 && length == oldLength &&
                        sent.Slice(start, length).SequenceEqual(old.Slice(oldStart, oldLength));
                }
            }
        }
        var elements = new JsonElement[items.Count];
        var nodes = new JsonNode?[items.Count];
        for (var i = 0; i < nodes.Length; i++)
        {
            var (start, length) = items[i];
            if (start < 0)
            {
                // Not an object: the array as a whole, which validation refuses with the item's place.
                return FlowDocument.Adopt(JsonNode.Parse(sent));
            }
            elements[i] = same?[i] == true ? before[i] : ParseItem(sent.Slice(start, length));
            // Materialised only if something reads its properties (nothing on the deploy path does).
            nodes[i] = JsonObject.Create(elements[i]);
        }
        var array = new JsonArray(nodes);
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
            _elements = elements;
            _document = doc;
        }
        return doc;
    }

    /// <summary>One object of the body, in a document of its own (a small copy of its bytes and its own token table).</summary>
    private static JsonElement ParseItem(ReadOnlySpan<byte> item)
    {
        var reader = new Utf8JsonReader(item);
        reader.Read();
        return JsonElement.ParseValue(ref reader);
    }
}
