using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// JSON kept for every device but read rarely (device info, config): UTF-8, Brotli-compressed when that pays (a Plus 1PM's
/// config, ~1.2 KB, becomes ~0.4 KB). Layout: one format byte (0 plain, 1 Brotli), then for Brotli the plain length
/// (4 bytes, little-endian) and the compressed bytes.
/// </summary>
internal static class PackedJson
{
    private const int MinToCompress = 256;

    public static byte[] Pack(JsonObject value)
    {
        var plain = JsonSerializer.SerializeToUtf8Bytes(value);
        if (plain.Length >= MinToCompress)
        {
            var packed = new byte[5 + BrotliEncoder.GetMaxCompressedLength(plain.Length)];
            if (BrotliEncoder.TryCompress(plain, packed.AsSpan(5), out var written, quality: 5, window: 16) && written + 5 < plain.Length)
            {
                packed[0] = 1;
                BinaryPrimitives.WriteInt32LittleEndian(packed.AsSpan(1), plain.Length);
                return packed.AsSpan(0, written + 5).ToArray();
            }
        }
        var raw = new byte[plain.Length + 1];
        plain.CopyTo(raw, 1);
        return raw;
    }

    public static JsonObject? Unpack(byte[] packed)
    {
        if (packed[0] == 0)
        {
            return JsonNode.Parse(packed.AsSpan(1)) as JsonObject;
        }
        var plain = new byte[BinaryPrimitives.ReadInt32LittleEndian(packed.AsSpan(1))];
        if (!BrotliDecoder.TryDecompress(packed.AsSpan(5), plain, out var written) || written != plain.Length)
        {
            throw new InvalidDataException("Stored device JSON is damaged");
        }
        return JsonNode.Parse(plain) as JsonObject;
    }
}
