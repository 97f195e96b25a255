using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Sequence;

/// <summary>Node-RED's <c>completeSend</c>: builds the joined value of a group and the message that carries it.</summary>
public sealed partial class JoinNode
{
    /// <summary>Called under the lock; the caller sends what it returns.</summary>
    private FlowMessage Complete(string key, Group group)
    {
        group.Timer?.Dispose();
        group.Timer = null;
        if (Auto || !Accumulate || group.Msg.ContainsKey("complete"))
        {
            _groups.Remove(key);
        }
        JsonNode? result;
        switch (group.Type)
        {
            case "object":
                result = group.Object.DeepClone();
                break;
            case "string":
                var joiner = JsonTools.IsBuffer(group.JoinChar) ? Encoding.UTF8.GetString(JsonTools.BufferBytes(group.JoinChar!)) : JoinText(group.JoinChar);
                result = JsonValue.Create(string.Join(joiner, group.Items.Select(i => i.Set ? JoinText(i.Value) : "")));
                break;
            case "buffer":
                result = JsonTools.Buffer(Concat(group));
                break;
            case "array" when group.ArrayLen > 1:
                // Chunks of a split array go back as one array (holes are skipped, as Array.forEach skips them).
                var flat = new JsonArray();
                foreach (var (set, value) in group.Items.Where(i => i.Set))
                {
                    if (value is JsonArray chunk)
                    {
                        foreach (var x in chunk)
                        {
                            flat.Add(x?.DeepClone());
                        }
                    }
                    else
                    {
                        flat.Add(value?.DeepClone());
                    }
                }
                result = flat;
                break;
            default:
                result = new JsonArray([.. group.Items.Select(i => i.Set ? i.Value?.DeepClone() : JsSpecial.UndefinedNode())]);
                break;
        }
        var msg = (JsonObject)group.Msg.DeepClone();
        PropertyPath.Parse(string.IsNullOrEmpty(group.Prop) ? "payload" : group.Prop).Set(msg, result);
        if (msg["parts"] is JsonObject parts && parts["parts"] is { } outer)
        {
            msg["parts"] = outer.DeepClone();
        }
        else
        {
            msg.Remove("parts");
        }
        msg.Remove("complete");
        group.Msg.Remove("complete");
        return new FlowMessage(msg, group.Refs);
    }

    private static byte[] Concat(Group group)
    {
        var parts = group.Items.Where(i => i.Set).Select(i => Bytes(i.Value)).ToList();
        using var stream = new MemoryStream();
        // A joiner goes between the parts (Buffer.from(joinChar)); in automatic mode without msg.parts.ch they are only concatenated.
        var joiner = group.JoinChar is null ? [] : Bytes(group.JoinChar);
        for (var i = 0; i < parts.Count; i++)
        {
            if (i > 0)
            {
                stream.Write(joiner);
            }
            stream.Write(parts[i]);
        }
        return stream.ToArray();
    }

    /// <summary>Buffer.from(value): a Buffer's bytes, a string's UTF-8, an array's numbers as bytes.</summary>
    private static byte[] Bytes(JsonNode? value) => value switch
    {
        _ when JsonTools.IsBuffer(value) => JsonTools.BufferBytes(value!),
        JsonArray a => [.. a.Select(x => (byte)((long)JsonTools.ToNumber(x) & 0xff))],
        _ when JsonTools.IsString(value, out var s) => Encoding.UTF8.GetBytes(s),
        _ => [],
    };

    /// <summary>How Array.prototype.join writes one element: null and undefined are empty, a Buffer is its UTF-8 text.</summary>
    private static string JoinText(JsonNode? value) => value switch
    {
        null => "",
        _ when JsSpecial.IsUndefined(value) => "",
        _ when JsonTools.IsBuffer(value) => Encoding.UTF8.GetString(JsonTools.BufferBytes(value)),
        JsonArray a => string.Join(",", a.Select(JoinText)),
        JsonObject => "[object Object]",
        _ => JsonTools.ToJsString(value),
    };
}
