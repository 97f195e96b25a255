using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;

namespace FlowFleet.Server.Red;

/// <summary>
/// A request body as sent and as parsed. A deploy keeps the bytes until its document is made: the document reuses the
/// objects sent byte for byte as last time (<see cref="Runtime.Flows.FlowDocumentMemo"/>), found by their place in the bytes.
/// A top-level array read with its items is only checked: the memo makes its objects item by item, and
/// <see cref="Json"/> parses it whole only when asked.
/// </summary>
internal sealed class SentBody : IDisposable
{
    /// <summary>From this size on, a body's text check runs beside its parse (a 1,000-node deploy is ~240 KB).</summary>
    private const int ParallelCheckBytes = 64 * 1024;

    private readonly PooledBufferWriter _body;

    private SentBody(PooledBufferWriter body) => _body = body;

    private JsonNode? _json;
    private bool _parseOnRead;

    /// <summary>The body parsed (null when it is not JSON or holds text that cannot be read).</summary>
    public JsonNode? Json
    {
        get
        {
            if (_parseOnRead)
            {
                // Checked already: it parses.
                _parseOnRead = false;
                _json = JsonNode.Parse(Bytes);
            }
            return _json;
        }
    }

    /// <summary>The bytes as sent (valid until disposed).</summary>
    public ReadOnlySpan<byte> Bytes => _body.WrittenSpan;

    /// <summary>
    /// For a top-level array read with its items, each item's start and length in <see cref="Bytes"/> (a start of -1 for
    /// one that is not an object); null for anything else, or a body that is not JSON.
    /// </summary>
    public List<(int Start, int Length)>? Items { get; private set; }

    /// <summary>
    /// Reads and checks the body; <paramref name="withItems"/> notes a top-level array's items, and with
    /// <paramref name="memo"/> only what differs from the last body adopted there is read (<see cref="FlowDocumentMemo.ItemsAsLast"/>).
    /// </summary>
    public static async Task<SentBody> ReadAsync(HttpContext ctx, bool withItems, FlowDocumentMemo? memo = null)
    {
        var length = ctx.Request.ContentLength;
        // Read into a pooled buffer sized by the announced length (capped: the body limit is enforced while it is read, not
        // by this number); the parse copies what it keeps. A fresh buffer per deploy of 1,000 nodes (~240 KB) was a
        // large-object-heap allocation each time.
        var body = new PooledBufferWriter(length is > 0 ? (int)Math.Min(length.Value, 16 << 20) : 4096);
        try
        {
            while (await ctx.Request.Body.ReadAsync(body.GetMemory(), ctx.RequestAborted) is var read and > 0)
            {
                body.Advance(read);
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }
        var sent = new SentBody(body);
        await sent.ParseAsync(withItems, memo);
        return sent;
    }

    private async Task ParseAsync(bool withItems, FlowDocumentMemo? memo)
    {
        var json = _body.WrittenMemory;
        if (withItems && IsArray(json.Span))
        {
            if (memo?.ItemsAsLast(json.Span) is { } known)
            {
                Items = known;
                _parseOnRead = true;
                return;
            }
            // The check reads every token (a syntax error throws), so the array is known to parse.
            var items = new List<(int Start, int Length)>();
            try
            {
                _parseOnRead = Check(json.Span, items);
                Items = _parseOnRead ? items : null;
            }
            catch (JsonException)
            {
                _parseOnRead = false;
            }
            return;
        }
        Task<bool>? readable = null;
        try
        {
            if (json.Length < ParallelCheckBytes)
            {
                var node = JsonNode.Parse(json.Span);
                _json = Check(json.Span, null) ? node : null;
            }
            else
            {
                // A large body is checked on another core while this one parses it: both only read the buffer.
                readable = Task.Run(() => Check(json.Span, null));
                var parsed = JsonNode.Parse(json.Span);
                _json = await readable ? parsed : null;
            }
        }
        catch (JsonException)
        {
            _json = null;
        }
        finally
        {
            if (readable is not null)
            {
                // Nothing reads the buffer any more once this returns.
                await ((Task)readable).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private static bool IsArray(ReadOnlySpan<byte> json)
    {
        var first = json.IndexOfAnyExcept(" \t\r\n"u8);
        return first >= 0 && json[first] == (byte)'[';
    }

    /// <summary>
    /// Strings are decoded lazily: one holding a lone surrogate (or bytes that are not UTF-8) would throw wherever it is
    /// read later (a 500). Checked on the bytes, without decoding every string of a 1,000-node deploy; the same pass notes
    /// where each item of a top-level array is.
    /// </summary>
    private static bool Check(ReadOnlySpan<byte> json, List<(int Start, int Length)>? items)
    {
        var reader = new Utf8JsonReader(json);
        var objectStart = -1;
        try
        {
            while (reader.Read())
            {
                if (items is not null && reader.CurrentDepth == 1)
                {
                    FlowDocumentMemo.NoteItem(ref reader, items, ref objectStart);
                }
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName))
                {
                    continue;
                }
                if (reader.ValueIsEscaped)
                {
                    _ = reader.GetString();
                }
                else if (!System.Text.Unicode.Utf8.IsValid(reader.ValueSpan))
                {
                    return false;
                }
            }
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public void Dispose() => _body.Dispose();
}
