using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Nodes;

/// <summary>Node-RED node status: fill red|green|yellow|blue|grey, shape dot|ring, text. Empty clears.</summary>
public sealed record NodeStatus(string? Fill = null, string? Shape = null, string? Text = null)
{
    public static readonly NodeStatus Clear = new();

    public bool IsEmpty => Fill is null && Shape is null && string.IsNullOrEmpty(Text);

    public JsonObject ToJson()
    {
        var o = new JsonObject();
        if (Fill is not null)
        {
            o["fill"] = Fill;
        }
        if (Shape is not null)
        {
            o["shape"] = Shape;
        }
        if (Text is not null)
        {
            o["text"] = Text;
        }
        return o;
    }

    public static NodeStatus FromJson(JsonNode? node) => node is JsonObject o
        ? new NodeStatus(o["fill"]?.ToString(), o["shape"]?.ToString(), o["text"] is { } t ? Messages.JsonTools.ToJsString(t) : null)
        : node is null ? Clear : new NodeStatus(Text: Messages.JsonTools.ToJsString(node));
}
