using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Messages;

/// <summary>
/// A Node-RED message: a JSON object (<c>_msgid</c>, <c>payload</c>, <c>topic</c>, anything else) plus references that
/// are shared, not cloned, between copies (Node-RED copies <c>msg.req</c>/<c>msg.res</c> by reference).
/// </summary>
public sealed class FlowMessage
{
    public FlowMessage(JsonObject data, IDictionary<string, object>? refs = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        Data = data;
        Refs = refs;
    }

    /// <summary>The JSON body of the message.</summary>
    public JsonObject Data { get; }

    /// <summary>Live objects carried by reference (for example the HTTP response of an <c>http in</c> node).</summary>
    public IDictionary<string, object>? Refs { get; set; }

    public string? MsgId
    {
        get => Data["_msgid"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        set => Data["_msgid"] = value;
    }

    public JsonNode? Payload
    {
        get => Data["payload"];
        set => Data["payload"] = JsonTools.Detach(value);
    }

    public string? Topic
    {
        get => Data["topic"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : Data["topic"]?.ToJsonString();
        set => Data["topic"] = value;
    }

    public JsonNode? this[string key]
    {
        get => Data[key];
        set => Data[key] = JsonTools.Detach(value);
    }

    /// <summary>A deep copy of the JSON body; references are shared.</summary>
    public FlowMessage Clone() => new((JsonObject)JsonDepth.Clone(Data)!, Refs);

    /// <summary>A new message with a fresh <c>_msgid</c>.</summary>
    public static FlowMessage Create(JsonNode? payload = null, string? topic = null)
    {
        var data = new JsonObject { ["_msgid"] = MessageId.New() };
        if (topic is not null)
        {
            data["topic"] = topic;
        }
        data["payload"] = JsonTools.Detach(payload);
        return new FlowMessage(data);
    }

    public override string ToString() => Data.ToJsonString();
}
