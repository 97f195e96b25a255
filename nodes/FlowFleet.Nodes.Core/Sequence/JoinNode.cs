using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Sequence;

/// <summary>Node-RED's join: rebuilds split sequences (automatic) or collects messages into a string, array or object (manual).</summary>
[NodeType("join", Category = "sequence", Color = "#e2d96e", Icon = "call_merge",
    Help = """
    **Automatic**: rebuilds what a split node split, using `msg.parts`. **Manual**: collects `property` of each message into a
    string (joined with `joiner`), an array, a key/value object (key from `msg[key]`, default `msg.topic`) or a merged object;
    sends after `count` messages, after `timeout` seconds, or when a message has `msg.complete`. **Reduce**: folds a sequence
    with a JSONata expression (`$A` accumulator, `$I` index, `$N` count), starting from `reduceInit`, with an optional fixup.
    """)]
public sealed partial class JoinNode : FlowNode<JoinConfig>
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);

    private sealed class Group
    {
        public List<(int Index, JsonNode? Value, string? Key)> Items { get; } = [];

        public FlowMessage Last { get; set; } = null!;

        public JsonObject? Parts { get; set; }

        public Timer? Timer { get; set; }

        /// <summary>Node-RED's <c>group.targetCount</c>: 0 until a count is known (configured or from <c>msg.parts.count</c>).</summary>
        public double TargetCount { get; set; }
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (Config.Mode == "reduce")
        {
            Reduce(msg);
            return ValueTask.CompletedTask;
        }
        var auto = Config.Mode is null or "auto" && msg.Data["parts"] is JsonObject;
        if (!auto && Config.UseParts == false && msg.Data["parts"] is JsonObject ignored)
        {
            // "Use existing msg.parts" off: the sequence the message belongs to is not this join's business.
            if (ignored["parts"] is { } outer)
            {
                msg.Data["parts"] = new JsonObject { ["parts"] = outer.DeepClone() };
            }
            else
            {
                msg.Data.Remove("parts");
            }
        }
        var parts = msg.Data["parts"] as JsonObject;
        // As Node-RED: a manual join with no count configured ("") completes the sequence the message came in
        // (an html or split node's parts), keyed by its id, after parts.count messages.
        var fromParts = !auto && parts is not null && Node.Config["count"] is JsonValue c && c.TryGetValue<string>(out var cs) && cs.Length == 0;
        var key = auto ? parts!["id"]?.GetValue<string>() ?? ""
            : fromParts && parts!["id"] is { } partsId ? JsonTools.ToJsString(partsId) : "";
        var property = Config.PropertyType == "full" ? null : PropertyPath.Parse(string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property);
        var value = property is null ? JsonDepth.Clone(msg.Data) : JsonDepth.Clone(property.Get(msg.Data));
        Group? ready = null;
        lock (_lock)
        {
            if (!_groups.TryGetValue(key, out var g))
            {
                _groups[key] = g = new Group
                {
                    TargetCount = auto ? 0 : fromParts ? PartsCount(parts) : Config.Count,
                };
                if (!auto && Config.Timeout > 0)
                {
                    g.Timer = new Timer(_ => Release(key), null, TimeSpan.FromSeconds(Config.Timeout), Timeout.InfiniteTimeSpan);
                }
            }
            var index = auto ? (int)JsonTools.ToNumber(parts!["index"]) : g.Items.Count;
            var itemKey = auto ? parts!["key"]?.GetValue<string>() : JsonTools.ToJsString(PropertyPath.Parse(string.IsNullOrEmpty(Config.Key) ? "topic" : Config.Key).Get(msg.Data));
            if (!msg.Data.ContainsKey("complete") || msg.Data.ContainsKey("payload"))
            {
                g.Items.Add((index, value, itemKey));
            }
            g.Last = msg;
            g.Parts = parts;
            if (parts is not null && g.TargetCount <= 0)
            {
                g.TargetCount = PartsCount(parts);
            }
            if ((g.TargetCount > 0 && g.Items.Count >= g.TargetCount) || msg.Data.ContainsKey("complete"))
            {
                _groups.Remove(key);
                g.Timer?.Dispose();
                ready = g;
            }
        }
        if (ready is not null)
        {
            Node.Send(Build(ready, auto));
        }
        return ValueTask.CompletedTask;
    }

    private static double PartsCount(JsonObject? parts) =>
        JsonTools.ToNumber(parts?["count"]) is var n && !double.IsNaN(n) ? n : 0;

    private void Release(string key)
    {
        Group? g;
        lock (_lock)
        {
            if (!_groups.Remove(key, out g))
            {
                return;
            }
        }
        Node.Send(Build(g, auto: false));
    }

    private FlowMessage Build(Group g, bool auto)
    {
        var items = auto ? g.Items.OrderBy(i => i.Index).ToList() : g.Items;
        var type = auto ? g.Parts?["type"]?.GetValue<string>() ?? "array" : Config.Build ?? "array";
        JsonNode? result;
        switch (type)
        {
            case "string":
                var joiner = auto ? g.Parts?["ch"]?.GetValue<string>() ?? "" : System.Text.RegularExpressions.Regex.Unescape(Config.Joiner ?? "\\n");
                result = JsonValue.Create(string.Join(joiner, items.Select(i => JsonTools.ToJsString(i.Value))));
                break;
            case "object":
                var obj = new JsonObject();
                foreach (var (_, value, key) in items)
                {
                    obj[key ?? ""] = value;
                }
                result = obj;
                break;
            case "merged":
                var merged = new JsonObject();
                foreach (var (_, value, _) in items)
                {
                    if (value is JsonObject o)
                    {
                        foreach (var (k, v) in o)
                        {
                            merged[k] = JsonDepth.Clone(v);
                        }
                    }
                }
                result = merged;
                break;
            default:
                var arr = new JsonArray();
                var chunked = auto && JsonTools.ToNumber(g.Parts?["len"]) > 1;
                foreach (var (_, value, _) in items)
                {
                    if (chunked && value is JsonArray chunk)
                    {
                        foreach (var x in chunk)
                        {
                            arr.Add(JsonDepth.Clone(x));
                        }
                    }
                    else
                    {
                        arr.Add(value);
                    }
                }
                result = arr;
                break;
        }
        var msg = g.Last.Clone();
        msg.Data.Remove("complete");
        if (auto && g.Parts?["parts"] is JsonObject parent)
        {
            msg.Data["parts"] = JsonDepth.Clone(parent);
        }
        else
        {
            msg.Data.Remove("parts");
        }
        if (Config.PropertyType == "full" && result is JsonArray or JsonObject && type is "merged")
        {
            return new FlowMessage((JsonObject)result, msg.Refs);
        }
        PropertyPath.Parse(string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property).Set(msg.Data, result);
        return msg;
    }

    public override ValueTask CloseAsync(bool removed)
    {
        lock (_lock)
        {
            foreach (var g in _groups.Values)
            {
                g.Timer?.Dispose();
            }
            _groups.Clear();
        }
        return ValueTask.CompletedTask;
    }
}

public sealed class JoinConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"auto\"", UiHint = "select", Options = ["auto:automatic", "custom:manual", "reduce:reduce sequence"], Label = "Mode")]
    public string? Mode { get; set; } = "auto";

    [NodeProperty(Default = "\"array\"", UiHint = "select", Options = ["string:a String", "array:an Array", "object:a key/value Object", "merged:a merged Object"], Label = "Combine each")]
    public string? Build { get; set; } = "array";

    [NodeProperty(Default = "\"payload\"", Label = "Property")]
    public string? Property { get; set; } = "payload";

    [NodeProperty(Default = "\"msg\"", UiHint = "select", Options = ["msg:msg property", "full:complete message"], Label = "of")]
    public string? PropertyType { get; set; } = "msg";

    [NodeProperty(Default = "\"topic\"", Label = "using the value of msg.")]
    public string? Key { get; set; } = "topic";

    [NodeProperty(Default = "\"\\\\n\"", Label = "joined using")]
    public string? Joiner { get; set; } = "\\n";

    [NodeProperty(Default = "\"\"", UiHint = "number", Label = "After a number of message parts")]
    public int Count { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = "number", Label = "After a timeout (s)")]
    public double Timeout { get; set; }

    /// <summary>Manual mode: whether a message's <c>msg.parts</c> counts (Node-RED's default when absent) or is dropped.</summary>
    [NodeProperty(Default = "true", UiHint = "checkbox", Label = "Use existing msg.parts property")]
    public bool? UseParts { get; set; }

    [NodeProperty(Default = "false", UiHint = "checkbox", Label = "Evaluate in reverse order (last to first)")]
    public bool ReduceRight { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Reduce exp")]
    public string? ReduceExp { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = "typed", TypeProperty = "reduceInitType", Types = ["num", "str", "bool", "json", "bin", "date", "jsonata", "flow", "global", "env"], Label = "Initial value")]
    public string? ReduceInit { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = "hidden")]
    public string? ReduceInitType { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Fixup exp")]
    public string? ReduceFixup { get; set; }
}
