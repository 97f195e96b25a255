using System.IO.Compression;
using System.Text;
using System.Text.Json;
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

    /// <summary>
    /// What a version's list shows: its tabs, and its nodes on a tab (x, y and z set). Read from <paramref name="json"/> when
    /// the caller has it: asking each parsed object would build every property of all of them after each deploy.
    /// </summary>
    public static (int Tabs, int Nodes) Count(JsonArray flows, ReadOnlyMemory<byte> json)
    {
        ArgumentNullException.ThrowIfNull(flows);
        if (json.IsEmpty)
        {
            // One count for both: a caller without the bytes gets them written here.
            json = Encoding.UTF8.GetBytes(flows.ToJsonString());
        }
        var (tabs, nodes) = (0, 0);
        var reader = new Utf8JsonReader(json.Span);
        reader.Read();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }
            var (tab, placed) = (false, 0);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueSpan;
                reader.Read();
                if (name.SequenceEqual("type"u8))
                {
                    tab = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("tab"u8);
                }
                else if ((name.SequenceEqual("x"u8) || name.SequenceEqual("y"u8) || name.SequenceEqual("z"u8)) && reader.TokenType != JsonTokenType.Null)
                {
                    placed++;
                }
                reader.Skip();
            }
            tabs += tab ? 1 : 0;
            nodes += placed == 3 ? 1 : 0;
        }
        return (tabs, nodes);
    }

    /// <summary>The flows of a stored version (an empty set for anything that is not an array).</summary>
    public static JsonArray Flows(byte[] data)
    {
        using var gz = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        return JsonNode.Parse(reader.ReadToEnd()) as JsonArray ?? [];
    }
}
