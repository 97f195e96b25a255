using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Function;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Sequence;

/// <summary>Node-RED's sort: sorts an array property, or a message sequence (by <c>msg.parts</c>) by a key.</summary>
[NodeType("sort", Category = "sequence", Color = "#e2d96e", Icon = "sort",
    Help = """
    With `targetType: msg` sorts the array in `msg[target]`, by the elements themselves (`msgKeyType: elem`) or by a JSONata
    expression `msgKey`. With `targetType: seq` collects a message sequence (`msg.parts.id/index/count`, as split makes)
    and sends it on sorted by `msg[seqKey]` (or a JSONata expression), renumbering `parts.index`. `order` ascending or
    descending; `as_num` compares as numbers.
    """)]
public sealed class SortNode : FlowNode<SortConfig>
{
    private readonly Dictionary<string, Group> _pending = new(StringComparer.Ordinal);

    private sealed class Group
    {
        public List<FlowMessage> Messages { get; } = [];

        public int? Count { get; set; }
    }

    private bool TargetIsProperty => Config.TargetType is null or "msg";

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (TargetIsProperty)
        {
            SortProperty(msg);
            return ValueTask.CompletedTask;
        }
        if (msg.Data["parts"] is not JsonObject parts || !parts.ContainsKey("id") || !parts.ContainsKey("index"))
        {
            return ValueTask.CompletedTask;
        }
        var gid = JsonTools.ToJsString(parts["id"]);
        if (!_pending.TryGetValue(gid, out var group))
        {
            _pending[gid] = group = new Group();
        }
        group.Messages.Add(msg);
        if (parts.ContainsKey("count"))
        {
            group.Count = (int)JsonTools.ToNumber(parts["count"]);
        }
        if (group.Count == group.Messages.Count)
        {
            _pending.Remove(gid);
            var keyIsExpression = Config.SeqKeyType == "jsonata";
            var key = keyIsExpression ? null : PropertyPath.Parse(string.IsNullOrEmpty(Config.SeqKey) ? "payload" : Config.SeqKey);
            var sorted = Sort(group.Messages, m => keyIsExpression ? Node.Evaluate("jsonata", Config.SeqKey, m) : key!.Get(m.Data));
            for (var i = 0; i < sorted.Count; i++)
            {
                sorted[i].Data["parts"]!["index"] = i;
                Node.Send(sorted[i]);
            }
        }
        return ValueTask.CompletedTask;
    }

    private void SortProperty(FlowMessage msg)
    {
        var path = PropertyPath.Parse(string.IsNullOrEmpty(Config.Target) ? "payload" : Config.Target);
        if (path.Get(msg.Data) is not JsonArray data)
        {
            return;
        }
        List<JsonNode?> sorted;
        if (Config.MsgKeyType == "jsonata")
        {
            // The expression is evaluated against each element, as Node-RED does.
            var expression = TypedInput.Jsonata(Config.MsgKey ?? "", Node);
            sorted = Sort(data.ToList(), e => expression.Evaluate(e).Value);
        }
        else
        {
            sorted = Sort(data.ToList(), e => e);
        }
        var result = new JsonArray();
        foreach (var e in sorted)
        {
            result.Add(JsonTools.Detach(e));
        }
        path.Set(msg.Data, result);
        Node.Send(msg);
    }

    private List<T> Sort<T>(List<T> items, Func<T, JsonNode?> key)
    {
        var dir = Config.Order is null or "ascending" ? 1 : -1;
        var keyed = items.Select(i => (Item: i, Key: Convert(key(i)))).ToList();
        // Array.prototype.sort is stable; so is OrderBy.
        return keyed.OrderBy(k => k.Key, Comparer<JsonNode?>.Create((x, y) =>
            JsValues.StrictEquals(x, y) ? 0 : JsValues.GreaterThan(x, y) ? dir : -dir)).Select(k => k.Item).ToList();
    }

    private JsonNode? Convert(JsonNode? key) => Config.AsNum ? JsonValue.Create(JsonTools.ToNumber(key)) : key;

    public override ValueTask CloseAsync(bool removed)
    {
        _pending.Clear();
        return ValueTask.CompletedTask;
    }
}

public sealed class SortConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"ascending\"", UiHint = PropertyUi.Select, Options = ["ascending", "descending"], Label = "Order")]
    public string? Order { get; set; } = "ascending";

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Numerical")]
    [System.Text.Json.Serialization.JsonPropertyName("as_num")]
    public bool AsNum { get; set; }

    [NodeProperty(Default = "\"payload\"", UiHint = PropertyUi.Typed, TypeProperty = "targetType", Types = ["msg", "seq"], Label = "Sort")]
    public string? Target { get; set; } = "payload";

    [NodeProperty(Default = "\"msg\"", UiHint = PropertyUi.Hidden)]
    public string? TargetType { get; set; } = "msg";

    [NodeProperty(Default = "\"payload\"", UiHint = PropertyUi.Typed, TypeProperty = "msgKeyType", Types = ["elem", "jsonata"], Label = "Key (array)")]
    public string? MsgKey { get; set; } = "payload";

    [NodeProperty(Default = "\"elem\"", UiHint = PropertyUi.Hidden)]
    public string? MsgKeyType { get; set; } = "elem";

    [NodeProperty(Default = "\"payload\"", UiHint = PropertyUi.Typed, TypeProperty = "seqKeyType", Types = ["msg", "jsonata"], Label = "Key (sequence)")]
    public string? SeqKey { get; set; } = "payload";

    [NodeProperty(Default = "\"msg\"", UiHint = PropertyUi.Hidden)]
    public string? SeqKeyType { get; set; } = "msg";
}
