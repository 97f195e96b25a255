using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Storage;

/// <summary>How a kept flow version is stored, whichever database holds the history (SQLite, or PostgreSQL in a cluster): gzip of its JSON.</summary>
public static class FlowHistoryBlob
{
    public static byte[] Compress(string json)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest))
        {
            gz.Write(Encoding.UTF8.GetBytes(json));
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
