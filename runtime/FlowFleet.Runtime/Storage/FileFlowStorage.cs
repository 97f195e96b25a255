using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;

namespace FlowFleet.Runtime.Storage;

/// <summary>Flows in a JSON file, written to a temp file and renamed over the old one, which becomes <c>.backup</c>.</summary>
public sealed class FileFlowStorage(string path) : IFlowStorage
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };
    private readonly SemaphoreSlim _lock = new(1, 1);

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public async Task<JsonArray?> LoadAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path))
        {
            return null;
        }
        var text = await File.ReadAllTextAsync(Path, cancellationToken);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }
        try
        {
            return JsonNode.Parse(text) as JsonArray ?? throw new InvalidDataException($"{Path} does not hold a JSON array");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{Path} is not valid JSON: {ex.Message}", ex);
        }
    }

    public Task SaveAsync(JsonArray flows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flows);
        return WriteAsync(JsonSerializer.SerializeToUtf8Bytes(flows, s_indented), cancellationToken);
    }

    /// <summary>Writes the document's JSON indented, from the bytes it serialized once (its tree is not walked again).</summary>
    public Task SaveAsync(FlowDocument flows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flows);
        // A pooled buffer: a fresh one of this size (~500 KB for 1,000 nodes) would be a large-object-heap allocation per deploy.
        var buffer = new PooledBufferWriter(flows.Utf8Json.Length * 2);
        using (var parsed = JsonDocument.Parse(flows.Utf8Json))
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            parsed.RootElement.WriteTo(writer);
        }
        return WriteAndReturnAsync(buffer, cancellationToken);
    }

    private async Task WriteAndReturnAsync(PooledBufferWriter buffer, CancellationToken cancellationToken)
    {
        using (buffer)
        {
            await WriteAsync(buffer.WrittenMemory, cancellationToken);
        }
    }

    private async Task WriteAsync(ReadOnlyMemory<byte> utf8, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            var tmp = Path + ".tmp";
            // One write of the whole file (an async text write queued a thread-pool hop per 4 KiB chunk).
            using (var file = File.OpenHandle(tmp, FileMode.Create, FileAccess.Write))
            {
                RandomAccess.Write(file, utf8.Span, 0);
            }
            if (File.Exists(Path))
            {
                // The old file becomes the backup by a hard link (no copy), and the new one replaces it by a rename.
                File.Replace(tmp, Path, Path + ".backup");
            }
            else
            {
                File.Move(tmp, Path, overwrite: true);
            }
        }
        finally
        {
            _lock.Release();
        }
    }
}
