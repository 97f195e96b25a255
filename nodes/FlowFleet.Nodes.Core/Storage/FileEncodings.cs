using System.Text;

namespace FlowFleet.Nodes.Core.Storage;

/// <summary>The encodings of the file nodes (iconv-lite names), for the ones .NET has; <c>none</c> is UTF-8 as Node's Buffer does.</summary>
internal static class FileEncodings
{
    public static byte[] Encode(string text, string? encoding) => Normalise(encoding) switch
    {
        "base64" => Convert.FromBase64String(text),
        "hex" => Convert.FromHexString(text.Length % 2 == 0 ? text : text[..^1]),
        var e => Get(e).GetBytes(text),
    };

    public static string Decode(byte[] bytes, string? encoding) => Normalise(encoding) switch
    {
        "base64" => Convert.ToBase64String(bytes),
        "hex" => Convert.ToHexStringLower(bytes),
        var e => Get(e).GetString(bytes),
    };

    private static string Normalise(string? encoding) => (encoding ?? "none").ToLowerInvariant().Replace("-", "", StringComparison.Ordinal);

    private static Encoding Get(string e) => e switch
    {
        "none" or "utf8" or "" => new UTF8Encoding(false),
        "ucs2" or "utf16le" or "utf16" => new UnicodeEncoding(false, false),
        "utf16be" => new UnicodeEncoding(true, false),
        "latin1" or "binary" or "iso88591" => Encoding.Latin1,
        "ascii" => Encoding.ASCII,
        "utf32" or "utf32le" => new UTF32Encoding(false, false),
        _ => throw new InvalidOperationException($"Unsupported encoding '{e}'"),
    };
}
