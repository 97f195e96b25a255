using System.Text.Json;

namespace FlowFleet.Runtime.Flows;

/// <summary>
/// Where the items of a body are when it differs from the last one in a few items between a common start and end (an
/// editor's one-node change, or the same flows again): the items there keep their places (shifted after the change), and
/// only the bytes between them are read and checked. A whole 1,000-node body's check pass (every token read, every string
/// checked) took ~1.5 ms of a one-node deploy's answer on a 2-core machine.
/// </summary>
public sealed partial class FlowDocumentMemo
{
    // An item is at depth 1 of its body, whose reader allows 64 levels.
    private static readonly JsonReaderOptions s_item = new() { MaxDepth = 63 };

    /// <summary>
    /// The items of <paramref name="sent"/> (start and length, as <see cref="NoteItem"/> notes them), when it is the last
    /// body adopted with whole objects changed, added or removed between its first and its last item; each of those is
    /// checked as a body is (JSON, strings that decode). Null when that cannot be told (anything else, or something not
    /// valid in the changed part): the caller then checks the whole body.
    /// </summary>
    public List<(int Start, int Length)>? ItemsAsLast(ReadOnlySpan<byte> sent)
    {
        lock (_gate)
        {
            return _document is null ? null : ItemsAsLast(sent, _sent.AsSpan(0, _sentLength), _sentItems);
        }
    }

    private static List<(int Start, int Length)>? ItemsAsLast(ReadOnlySpan<byte> sent, ReadOnlySpan<byte> last, (int Start, int Length)[] lastItems)
    {
        var n = lastItems.Length;
        if (sent.SequenceEqual(last))
        {
            return [.. lastItems];
        }
        var prefix = sent.CommonPrefixLength(last);
        var suffix = Math.Min(CommonSuffixLength(sent, last), Math.Min(sent.Length, last.Length) - prefix);
        // Items wholly in the common start (0..k-1), and those wholly in the common end (j..n-1).
        var k = 0;
        while (k < n && lastItems[k].Start >= 0 && lastItems[k].Start + lastItems[k].Length <= prefix)
        {
            k++;
        }
        var j = n;
        while (j > k && lastItems[j - 1].Start >= last.Length - suffix)
        {
            j--;
        }
        if (k == 0 || j == n)
        {
            // The first or the last item changed: the whole body is checked.
            return null;
        }
        var shift = sent.Length - last.Length;
        var from = lastItems[k - 1].Start + lastItems[k - 1].Length;
        var to = lastItems[j].Start + shift;
        if (to < from)
        {
            return null;
        }
        var items = new List<(int Start, int Length)>(n + 4);
        for (var i = 0; i < k; i++)
        {
            items.Add(lastItems[i]);
        }
        // Between item k-1 and item j: a comma before each object, and one before item j.
        var at = from;
        while (true)
        {
            at = SkipWhitespace(sent, at, to);
            if (at >= to || sent[at] != (byte)',')
            {
                return null;
            }
            at = SkipWhitespace(sent, at + 1, to);
            if (at == to)
            {
                break;
            }
            var length = CheckedObject(sent[at..to]);
            if (length <= 0)
            {
                return null;
            }
            items.Add((at, length));
            at += length;
        }
        for (var i = j; i < n; i++)
        {
            if (lastItems[i].Start < 0)
            {
                return null;
            }
            items.Add((lastItems[i].Start + shift, lastItems[i].Length));
        }
        return items;
    }

    private static int CommonSuffixLength(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        const int Block = 4096;
        var max = Math.Min(a.Length, b.Length);
        var same = 0;
        while (max - same >= Block && a[^(same + Block)..^same].SequenceEqual(b[^(same + Block)..^same]))
        {
            same += Block;
        }
        while (same < max && a[a.Length - 1 - same] == b[b.Length - 1 - same])
        {
            same++;
        }
        return same;
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> json, int at, int end)
    {
        while (at < end && json[at] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            at++;
        }
        return at;
    }

    /// <summary>The length of the object <paramref name="json"/> starts with, read and its strings checked; 0 when it is not one.</summary>
    private static int CheckedObject(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, s_item);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return 0;
            }
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.EndObject when reader.CurrentDepth == 0:
                        return (int)reader.BytesConsumed;
                    case JsonTokenType.String or JsonTokenType.PropertyName when reader.ValueIsEscaped:
                        // Lone surrogates in escapes throw here, as in the body's check.
                        _ = reader.GetString();
                        break;
                    case JsonTokenType.String or JsonTokenType.PropertyName when !System.Text.Unicode.Utf8.IsValid(reader.ValueSpan):
                        return 0;
                }
            }
            return 0;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return 0;
        }
    }
}
