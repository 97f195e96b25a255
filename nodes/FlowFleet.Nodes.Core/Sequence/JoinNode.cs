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
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (Config.Mode == "reduce")
        {
            Reduce(msg);
            return ValueTask.CompletedTask;
        }
        var auto = Config.Mode is null or "auto" && msg.Data["parts"] is JsonObject;
        var parts = msg.Data["parts"] as JsonObject;
        var key = auto ? parts!["id"]?.GetValue<string>() ?? "" : "";
        var property = Config.PropertyType == "full" ? null : PropertyPath.Parse(string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property);
        var value = property is null ? JsonDepth.Clone(msg.Data) : JsonDepth.Clone(property.Get(msg.Data));
        Group? ready = null;
        lock (_lock)
        {
            if (!_groups.TryGetValue(key, out var g))
            {
                _groups[key] = g = new Group();
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
            var target = auto ? (int)JsonTools.ToNumber(parts!["count"]) : Config.Count > 0 ? Config.Count : int.MaxValue;
            if (g.Items.Count >= target || msg.Data.ContainsKey("complete"))
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
