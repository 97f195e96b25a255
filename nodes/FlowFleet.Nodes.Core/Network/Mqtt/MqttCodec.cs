using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace FlowFleet.Nodes.Core.Network.Mqtt;

/// <summary>Node-RED's 10-mqtt.js helpers: topic checks, received packet → msg, msg → publish.</summary>
public static partial class MqttCodec
{
    // Node-RED's knownMediaTypes: how auto-detect reads a v5 payload with a content type.
    private static readonly Dictionary<string, string> s_mediaTypes = new(StringComparer.Ordinal)
    {
        ["text/css"] = "string", ["text/html"] = "string", ["text/plain"] = "string", ["application/json"] = "json",
        ["application/octet-stream"] = "buffer", ["application/pdf"] = "buffer", ["application/x-gtar"] = "buffer",
        ["application/x-gzip"] = "buffer", ["application/x-tar"] = "buffer", ["application/xml"] = "string",
        ["application/zip"] = "buffer", ["audio/aac"] = "buffer", ["audio/ac3"] = "buffer", ["audio/basic"] = "buffer",
        ["audio/mp4"] = "buffer", ["audio/ogg"] = "buffer", ["image/bmp"] = "buffer", ["image/gif"] = "buffer",
        ["image/jpeg"] = "buffer", ["image/tiff"] = "buffer", ["image/png"] = "buffer",
    };

    public const string InvalidTopic = "Invalid topic specified";
    public const string InvalidJsonParse = "Failed to parse JSON string";
    public const string InvalidJsonString = "Invalid JSON string";

    [GeneratedRegex(@"^(#$|(\+|[^+#]*)(/(\+|[^+#]*))*(/(\+|#|[^+#]*))?$)")]
    private static partial Regex SubscriptionTopic();

    [GeneratedRegex(@"[\+#\b\f\n\r\t\v\0]")]
    private static partial Regex BadPublishChars();

    public static bool IsValidSubscriptionTopic(string? topic) => topic is not null && SubscriptionTopic().IsMatch(topic);

    public static bool IsValidPublishTopic(string? topic) => !string.IsNullOrEmpty(topic) && !BadPublishChars().IsMatch(topic);

    /// <summary>Node-RED's matchTopic: <c>+</c> one level, a trailing <c>/#</c> any depth (or none), <c>$share/name/</c> stripped.</summary>
    public static bool Matches(string filter, string topic)
    {
        if (filter == "#")
        {
            return true;
        }
        if (filter.StartsWith("$share/", StringComparison.Ordinal) && filter.IndexOf('/', 7) is var slash and > 7)
        {
            filter = filter[(slash + 1)..];
        }
        return MatchLevels(filter.Split('/'), topic.Split('/'));
    }

    private static bool MatchLevels(string[] f, string[] t)
    {
        for (var i = 0; i < f.Length; i++)
        {
            if (f[i] == "#" && i == f.Length - 1)
            {
                return true;
            }
            if (i >= t.Length)
            {
                return false;
            }
            // "+" needs a non-empty level, as Node-RED's [^/]+ does.
            if (f[i] == "+" ? t[i].Length == 0 : f[i] != t[i])
            {
                return false;
            }
        }
        return f.Length == t.Length;
    }

    /// <summary>Node-RED's subscriptionHandler: the msg an <c>mqtt in</c> node sends, or an error text and the bare msg.</summary>
    public static (JsonObject Msg, string? Error) ToMessage(MqttApplicationMessage m, string datatype, bool v5)
    {
        var msg = new JsonObject { ["topic"] = m.Topic, ["payload"] = null, ["qos"] = (int)m.QualityOfServiceLevel, ["retain"] = m.Retain };
        if (v5)
        {
            if (!string.IsNullOrEmpty(m.ResponseTopic))
            {
                msg["responseTopic"] = m.ResponseTopic;
            }
            if (m.CorrelationData is { Length: > 0 } correl)
            {
                msg["correlationData"] = JsonTools.Buffer(correl);
            }
            if (!string.IsNullOrEmpty(m.ContentType))
            {
                msg["contentType"] = m.ContentType;
            }
            if (m.MessageExpiryInterval > 0)
            {
                msg["messageExpiryInterval"] = m.MessageExpiryInterval;
            }
            if (m.PayloadFormatIndicator == MqttPayloadFormatIndicator.CharacterData)
            {
                msg["payloadFormatIndicator"] = true;
            }
            if (m.UserProperties is { Count: > 0 } props)
            {
                var o = new JsonObject();
                foreach (var p in props)
                {
                    o[p.Name] = p.ReadValueAsString();
                }
                msg["userProperties"] = o;
            }
        }
        var bytes = m.Payload.IsEmpty ? [] : m.Payload.ToArray();
        var utf8Declared = v5 && m.PayloadFormatIndicator == MqttPayloadFormatIndicator.CharacterData;
        JsonNode? payload;
        switch (datatype)
        {
            case "buffer" or "base64" or "utf8":
                payload = NetData.Decode(bytes, datatype);
                break;
            case "json":
                if (!utf8Declared && !System.Text.Unicode.Utf8.IsValid(bytes))
                {
                    return (Bare(msg, bytes), InvalidJsonString);
                }
                if (!TryParse(Encoding.UTF8.GetString(bytes), out payload))
                {
                    return (Bare(msg, bytes), InvalidJsonParse);
                }
                break;
            default:
                var detect = datatype == "auto-detect";
                var mediaType = v5 && !string.IsNullOrEmpty(m.ContentType) ? s_mediaTypes.GetValueOrDefault(m.ContentType.ToLowerInvariant()) : null;
                if (mediaType == "string")
                {
                    payload = Encoding.UTF8.GetString(bytes);
                }
                else if (mediaType == "buffer")
                {
                    payload = JsonTools.Buffer(bytes);
                }
                else if (mediaType == "json")
                {
                    var text = Encoding.UTF8.GetString(bytes);
                    if (!TryParse(text, out var parsed))
                    {
                        return (Bare(msg, text), InvalidJsonParse);
                    }
                    payload = detect ? parsed : text;
                }
                else if (utf8Declared || System.Text.Unicode.Utf8.IsValid(bytes))
                {
                    var text = Encoding.UTF8.GetString(bytes);
                    payload = detect && TryParse(text, out var parsed) ? parsed : text;
                }
                else
                {
                    payload = JsonTools.Buffer(bytes);
                }
                break;
        }
        msg["payload"] = payload;
        return (msg, null);
    }

    private static JsonObject Bare(JsonObject msg, object payload) => new()
    {
        ["payload"] = payload is byte[] b ? JsonTools.Buffer(b) : JsonValue.Create((string)payload),
        ["topic"] = msg["topic"]?.DeepClone(), ["qos"] = msg["qos"]?.DeepClone(), ["retain"] = msg["retain"]?.DeepClone(),
    };

    private static bool TryParse(string text, out JsonNode? value)
    {
        try
        {
            // JSON.parse semantics: strict, no comments or trailing commas.
            value = JsonNode.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            value = null;
            return false;
        }
    }

    /// <summary>Node-RED's publish: payload null → "", buffer as is, object as JSON, anything else as its string.</summary>
    public static byte[] PayloadBytes(JsonNode? payload) => payload switch
    {
        null => [],
        _ when JsonTools.IsBuffer(payload) => JsonTools.BufferBytes(payload),
        JsonObject or JsonArray => Encoding.UTF8.GetBytes(payload.ToJsonString()),
        _ => Encoding.UTF8.GetBytes(JsonTools.ToJsString(payload)),
    };

    /// <summary>The message to publish for a msg (topic, qos, retain already settled); v5 properties only on v5 connections.</summary>
    public static MqttApplicationMessage ToPublish(JsonObject msg, string topic, int qos, bool retain, bool v5)
    {
        var b = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(PayloadBytes(msg["payload"]))
            .WithQualityOfServiceLevel((MqttQualityOfServiceLevel)qos).WithRetainFlag(retain);
        if (v5)
        {
            if (JsonTools.Text(msg["responseTopic"]) is { Length: > 0 } rt)
            {
                b.WithResponseTopic(rt);
            }
            if (msg["correlationData"] is { } cd && ToBytes(cd) is { } correl)
            {
                b.WithCorrelationData(correl);
            }
            if (JsonTools.Text(msg["contentType"]) is { Length: > 0 } ct)
            {
                b.WithContentType(ct);
            }
            if (Int(msg["messageExpiryInterval"]) is >= 0 and var expiry)
            {
                b.WithMessageExpiryInterval((uint)expiry);
            }
            if (msg["payloadFormatIndicator"] is JsonValue pfi && (pfi.ToString() == "true"))
            {
                b.WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);
            }
            foreach (var (name, value) in UserProperties(msg["userProperties"]))
            {
                b.WithUserProperty(name, new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes(value)));
            }
        }
        return b.Build();
    }

    /// <summary>Node-RED's setUserProperties: strings as they are, anything else as JSON; null/undefined dropped.</summary>
    public static IEnumerable<(string Name, string Value)> UserProperties(JsonNode? props)
    {
        if (props is JsonValue v && JsonTools.Text(v) is { } text && text.TrimStart().StartsWith('{'))
        {
            try
            {
                props = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                yield break;
            }
        }
        if (props is not JsonObject o)
        {
            yield break;
        }
        foreach (var (k, val) in o)
        {
            if (val is null)
            {
                continue;
            }
            yield return (k, JsonTools.Text(val) ?? val.ToJsonString());
        }
    }

    /// <summary>parseInt as Node-RED uses it: numbers and numeric strings; null for anything else.</summary>
    public static long? Int(JsonNode? node)
    {
        if (node is not JsonValue v)
        {
            return null;
        }
        if (JsonTools.IsNumber(v, out var d))
        {
            return (long)Math.Truncate(d);
        }
        return JsonTools.Text(v) is { } s && long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : null;
    }

    public static byte[]? ToBytes(JsonNode? node) => node switch
    {
        null => null,
        _ when JsonTools.IsBuffer(node) => JsonTools.BufferBytes(node),
        JsonValue v when JsonTools.Text(v) is { Length: > 0 } s => Encoding.UTF8.GetBytes(s),
        _ => null,
    };

    public static bool Truthy(JsonNode? node) => node is JsonValue v && (v.ToString() == "true" || v.ToString() == "True");
}
