using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;

namespace FlowFleet.Server.Red;

/// <summary>
/// A request body as sent and as parsed. A deploy keeps the bytes until its document is made: the document reuses the
/// objects sent byte for byte as last time (<see cref="Runtime.Flows.FlowDocumentMemo"/>), found by their place in the bytes.
/// </summary>
internal sealed class SentBody : IDisposable
{
    /// <summary>From this size on, a body's text check runs beside its parse (a 1,000-node deploy is ~240 KB).</summary>
    private const int ParallelCheckBytes = 64 * 1024;

    private byte[]? _buffer;
    private readonly int _used;

    private SentBody(byte[] buffer, int used)
    {
        _buffer = buffer;
        _used = used;
    }

    /// <summary>The body parsed (null when it is not JSON or holds text that cannot be read).</summary>
    public JsonNode? Json { get; private set; }

    /// <summary>The bytes as sent (valid until disposed).</summary>
    public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, _used);

    /// <summary>For a top-level array, each item's start and length in <see cref="Bytes"/> (a start of -1 for one that is not an object).</summary>
    public List<(int Start, int Length)>? Items { get; private set; }

    public static async Task<SentBody> ReadAsync(HttpContext ctx, bool withItems)
    {
        var length = ctx.Request.ContentLength;
        // Read into a pooled buffer sized by the announced length (capped: the body limit is enforced while it is read, not
        // by this number); the parse copies what it keeps. A fresh buffer per deploy of 1,000 nodes (~240 KB) was a
        // large-object-heap allocation each time.
        var buffer = ArrayPool<byte>.Shared.Rent(length is > 0 ? (int)Math.Min(length.Value, 16 << 20) : 4096);
        var used = 0;
        try
        {
            while (true)
            {
                if (used == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, used).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await ctx.Request.Body.ReadAsync(buffer.AsMemory(used), ctx.RequestAborted);
                if (read == 0)
                {
                    break;
                }
                used += read;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        var sent = new SentBody(buffer, used);
        await sent.ParseAsync(withItems);
        return sent;
    }

    private async Task ParseAsync(bool withItems)
    {
        var buffer = _buffer!;
        var used = _used;
        var items = withItems ? new List<(int Start, int Length)>() : null;
        Task<bool>? readable = null;
        try
        {
            if (used < ParallelCheckBytes)
            {
                var node = JsonNode.Parse(buffer.AsSpan(0, used));
                Json = Check(buffer.AsSpan(0, used), items) ? node : null;
            }
            else
            {
                // A large body (a deploy) is checked on another core while this one parses it: both only read the buffer.
                readable = Task.Run(() => Check(buffer.AsSpan(0, used), items));
                var parsed = JsonNode.Parse(buffer.AsSpan(0, used));
                Json = await readable ? parsed : null;
            }
            Items = Json is JsonArray ? items : null;
        }
        catch (JsonException)
        {
            Json = null;
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

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
