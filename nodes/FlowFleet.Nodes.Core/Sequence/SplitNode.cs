using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Sequence;

/// <summary>Node-RED's split: one message per string part, array chunk or object key, with <c>msg.parts</c> for join.</summary>
[NodeType("split", Category = "sequence", Color = "#e2d96e", Icon = "call_split",
    Help = "Splits `msg.payload`: a string by `splt` (default newline), an array into chunks of `arraySplt`, an object into one message per key (the key in `msg[addname]` when set). Each message carries `msg.parts` so a join node can rebuild the original.")]
public sealed class SplitNode : FlowNode<SplitConfig>
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var path = PropertyPath.Parse(string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property);
        var value = path.Get(msg.Data);
        var id = MessageId.New();
        var parent = JsonDepth.Clone(msg.Data["parts"]);
        var outputs = new List<(JsonNode? Value, JsonObject Parts, string? Key)>();
        switch (value)
        {
            case JsonArray arr:
                {
                    var size = Math.Max(1, Config.ArraySplt);
                    var count = (arr.Count + size - 1) / size;
                    for (var i = 0; i < count; i++)
                    {
                        JsonNode? part = size == 1 ? JsonDepth.Clone(arr[i]) : new JsonArray(arr.Skip(i * size).Take(size).Select(x => JsonDepth.Clone(x)).ToArray());
                        outputs.Add((part, new JsonObject { ["type"] = "array", ["len"] = size }, null));
                    }
                    break;
                }
            case JsonObject obj when !JsonTools.IsBuffer(obj):
                foreach (var (key, v) in obj)
                {
                    outputs.Add((JsonDepth.Clone(v), new JsonObject { ["type"] = "object", ["key"] = key }, key));
                }
                break;
            case JsonObject buffer:
                {
                    var bytes = JsonTools.BufferBytes(buffer);
                    if (Config.SpltType == "len")
                    {
                        var len = Math.Max(1, (int)JsonTools.StringToNumber(Config.Splt ?? "1"));
                        for (var i = 0; i < bytes.Length; i += len)
                        {
                            outputs.Add((JsonTools.Buffer(bytes.AsSpan(i, Math.Min(len, bytes.Length - i))), new JsonObject { ["type"] = "buffer", ["len"] = len }, null));
                        }
                    }
                    else
                    {
                        var sep = System.Text.Encoding.UTF8.GetBytes(System.Text.RegularExpressions.Regex.Unescape(Config.Splt ?? "\\n"));
                        var start = 0;
                        for (var at = sep.Length == 0 ? -1 : bytes.AsSpan().IndexOf(sep); ; at = bytes.AsSpan(start).IndexOf(sep))
                        {
                            var end = at < 0 ? bytes.Length : start + at;
                            outputs.Add((JsonTools.Buffer(bytes.AsSpan(start, end - start)), new JsonObject { ["type"] = "buffer", ["ch"] = System.Text.Encoding.UTF8.GetString(sep) }, null));
                            if (at < 0)
                            {
                                break;
                            }
                            start = end + sep.Length;
                        }
                    }
                    break;
                }
            default:
                {
                    if (!JsonTools.IsString(value, out var text))
                    {
                        // Node-RED sends nothing for values it cannot split (numbers, booleans, missing).
                        return ValueTask.CompletedTask;
                    }
                    var sep = System.Text.RegularExpressions.Regex.Unescape(Config.Splt ?? "\\n");
                    if (Config.SpltType == "len")
                    {
                        var len = Math.Max(1, (int)JsonTools.StringToNumber(Config.Splt ?? "1"));
                        for (var i = 0; i < text.Length; i += len)
                        {
                            outputs.Add((JsonValue.Create(text.Substring(i, Math.Min(len, text.Length - i))), new JsonObject { ["type"] = "string", ["ch"] = "", ["len"] = len }, null));
                        }
                    }
                    else
                    {
                        foreach (var piece in text.Split(sep))
                        {
                            outputs.Add((JsonValue.Create(piece), new JsonObject { ["type"] = "string", ["ch"] = sep }, null));
                        }
                    }
                    break;
                }
        }
        for (var i = 0; i < outputs.Count; i++)
        {
            var (part, parts, key) = outputs[i];
            var m = msg.Clone();
            // Node-RED gives every part its own _msgid.
            m.MsgId = MessageId.New();
            path.Set(m.Data, part);
            parts["id"] = id;
            parts["index"] = i;
            parts["count"] = outputs.Count;
            if (parent is not null)
            {
                parts["parts"] = JsonDepth.Clone(parent, JsonDepth.Max - 2);
            }
            m.Data["parts"] = parts;
            if (key is not null && !string.IsNullOrEmpty(Config.Addname))
            {
                PropertyPath.Parse(Config.Addname).Set(m.Data, key);
            }
            Node.Send(m);
        }
        return ValueTask.CompletedTask;
    }
}

public sealed class SplitConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\\\\n\"", Label = "Split strings using")]
    public string? Splt { get; set; } = "\\n";

    [NodeProperty(Default = "\"str\"", UiHint = PropertyUi.Select, Options = ["str:String", "len:Fixed length"], Label = "Split by")]
    public string? SpltType { get; set; } = "str";

    [NodeProperty(Default = "1", UiHint = PropertyUi.Number, Label = "Array chunk length")]
    public int ArraySplt { get; set; } = 1;

    [NodeProperty(Default = "\"\"", Label = "Copy object key to msg.")]
    public string? Addname { get; set; }

    [NodeProperty(Default = "\"payload\"", Label = "Property")]
    public string? Property { get; set; } = "payload";
}
