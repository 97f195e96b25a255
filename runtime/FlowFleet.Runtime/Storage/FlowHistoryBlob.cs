using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Storage;

/// <summary>How a kept flow version is stored, whichever database holds the history (SQLite, or PostgreSQL in a cluster): gzip of its JSON.</summary>
public static class FlowHistoryBlob
{
    /// <summary>The stored form of a version: <paramref name="json"/> when the caller has the flows serialised already.</summary>
    public static byte[] Compress(JsonArray flows, ReadOnlyMemory<byte> json)
    {
        ArgumentNullException.ThrowIfNull(flows);
        var utf8 = json.IsEmpty ? Encoding.UTF8.GetBytes(flows.ToJsonString()) : json;
        using var ms = new MemoryStream(utf8.Length / 4);
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest))
        {
            gz.Write(utf8.Span);
        }
        return ms.ToArray();
    }

    /// <summary>The flows of a stored version (an empty set for anything that is not an array).</summary>
    public static JsonArray Flows(byte[] data)
    {
        using var gz = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        return JsonNode.Parse(reader.ReadToEnd()) as JsonArray ?? [];
    }
}
