using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// Turns a device's message into a JSON object, or says exactly why not, before anything reads it: text that is not UTF-8
/// (closed with 1007 as RFC 6455 §8.1 asks), duplicate member names (which <see cref="JsonObject"/> only rejects lazily, on
/// first access, deep inside whoever reads it) and escaped lone surrogates (which throw only when the string is read).
/// </summary>
internal static class DeviceFrames
{
    internal enum Error
    {
        None,
        NotUtf8,
        NotJson,
    }

    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    public static Error Parse(ReadOnlySpan<byte> message, out JsonObject? frame, out string reason)
    {
        frame = null;
        reason = "";
        if (!Utf8.IsValid(message))
        {
            reason = "Frame is not valid UTF-8";
            return Error.NotUtf8;
        }
        try
        {
            frame = JsonNode.Parse(message, documentOptions: Strict) as JsonObject;
        }
        catch (JsonException ex)
        {
            reason = ex.Message.Contains("Duplicate", StringComparison.Ordinal) ? "Frame has duplicate member names" : "Frame is not JSON";
            return Error.NotJson;
        }
        if (frame is null)
        {
            reason = "Frame is not a JSON object";
            return Error.NotJson;
        }
        if (HasLoneSurrogate(message))
        {
            frame = null;
            reason = "Frame has a string with a lone surrogate escape";
            return Error.NotJson;
        }
        return Error.None;
    }

    /// <summary>
    /// The same checks as <see cref="Parse"/>, into a document over <paramref name="message"/> (no copy: the caller keeps the
    /// bytes alive and disposes the document, whose index is pooled). No tree of nodes is built: the frame path reads it.
    /// </summary>
    public static Error ParseDocument(ReadOnlyMemory<byte> message, out JsonDocument? frame)
    {
        frame = null;
        if (!Utf8.IsValid(message.Span))
        {
            return Error.NotUtf8;
        }
        try
        {
            frame = JsonDocument.Parse(message, Strict);
        }
        catch (JsonException)
        {
            return Error.NotJson;
        }
        if (frame.RootElement.ValueKind != JsonValueKind.Object || HasLoneSurrogate(message.Span))
        {
            frame.Dispose();
            frame = null;
            return Error.NotJson;
        }
        return Error.None;
    }

    /// <summary>True when an escaped string (or member name) decodes to invalid UTF-16; one pass, only over frames with escapes.</summary>
    private static bool HasLoneSurrogate(ReadOnlySpan<byte> message)
    {
        if (message.IndexOf("\\u"u8) < 0)
        {
            return false;
        }
        var reader = new Utf8JsonReader(message);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
                {
                    reader.GetString();
                }
            }
        }
        catch (InvalidOperationException)
        {
            return true;
        }
        return false;
    }
}
