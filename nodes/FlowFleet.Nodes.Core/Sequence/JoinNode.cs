using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Sequence;

/// <summary>Node-RED's join: rebuilds split sequences (automatic) or collects messages into a string, buffer, array or object (manual).</summary>
[NodeType("join", Category = "sequence", Color = "#e2d96e", Icon = "call_merge",
    Help = """
    **Automatic**: rebuilds what a split node split, using `msg.parts`. **Manual**: collects `property` of each message (or
    the whole message) into a string (joined with `joiner`), a buffer, an array, a key/value object (key from `msg[key]`,
    default `msg.topic`) or a merged object; sends after `count` messages, after `timeout` seconds, or when a message has
    `msg.complete`; `accumulate` keeps the object and sends it again on every later message; `msg.reset` drops the group,
    `msg.restartTimeout` restarts its timer. **Reduce**: folds a sequence with a JSONata expression (`$A` accumulator, `$I`
    index, `$N` count), starting from `reduceInit`, with an optional fixup.
    """)]
public sealed partial class JoinNode : FlowNode<JoinConfig>
{
    // Beyond this index a part is appended instead of placed (a JavaScript array would be sparse; a list is not).
    private const int MaxIndex = 1_000_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);

    /// <summary>Node-RED's <c>inflight[partId]</c>.</summary>
    private sealed class Group
    {
        /// <summary>"array", "string", "buffer" or "object" (key/value and merged both build an object).</summary>
        public required string Type { get; init; }

        /// <summary>Array, string and buffer parts; a slot that was never set is a hole (JavaScript's sparse array).</summary>
        public List<(bool Set, JsonNode? Value)> Items { get; } = [];

        public JsonObject Object { get; } = [];

        public int CurrentCount { get; set; }

        public double TargetCount { get; set; }

        public JsonNode? JoinChar { get; init; }

        public double ArrayLen { get; init; }

        /// <summary>The properties of every message so far, later ones overwriting (Node-RED's <c>Object.assign</c>).</summary>
        public required JsonObject Msg { get; init; }

        public IDictionary<string, object>? Refs { get; set; }

        public string? Prop { get; init; }

        public Timer? Timer { get; set; }
    }

    private bool Auto => Config.Mode is null or "" or "auto";

    private double TimeoutMs => Auto ? 0 : JsonTools.ToNumber(Node.Config["timeout"]) is var t && t > 0 ? t * 1000 : 0;

    private double CountSetting => JsonTools.ToNumber(Node.Config["count"]) is var c && !double.IsNaN(c) ? c : 0;

    // Node-RED tests `accumulate !== true`: only the boolean counts.
    private bool Accumulate => Node.Config["accumulate"] is JsonValue a && a.GetValueKind() == JsonValueKind.True;

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (Config.Mode == "reduce")
        {
            Reduce(msg);
            return ValueTask.CompletedTask;
        }
        var outgoing = new List<FlowMessage>();
        lock (_lock)
        {
            Receive(msg, outgoing);
        }
        foreach (var m in outgoing)
        {
            Node.Send(m);
        }
        return ValueTask.CompletedTask;
    }

    private void Receive(FlowMessage msg, List<FlowMessage> outgoing)
    {
        var data = msg.Data;
        var full = Config.PropertyType == "full";
        var key = "_";
        if (Auto && (data["parts"] is not JsonObject p || !p.ContainsKey("id")))
        {
            if (data.ContainsKey("reset"))
            {
                foreach (var g in _groups.Values)
                {
                    g.Timer?.Dispose();
                }
                _groups.Clear();
            }
            else
            {
                Node.Warn("Message missing msg.parts property - cannot join in 'auto' mode");
            }
            return;
        }
        if (!Auto && Config.UseParts == false && data["parts"] is JsonObject ignored)
        {
            // "Use existing msg.parts" off: the sequence the message came in is not this join's business.
            if (ignored["parts"] is { } outer)
            {
                data["parts"] = new JsonObject { ["parts"] = outer.DeepClone() };
            }
            else
            {
                data.Remove("parts");
            }
        }
        var parts = data["parts"] as JsonObject;
        string type;
        double targetCount;
        JsonNode? joinChar;
        JsonNode? propertyKey = null;
        double arrayLen = 0;
        var propertyIndex = double.NaN;
        JsonNode? property;
        bool has;
        if (Auto)
        {
            key = JsonTools.ToJsString(parts!["id"]);
            type = JsonTools.Text(parts["type"]) ?? "undefined";
            targetCount = JsonTools.ToNumber(parts["count"]);
            joinChar = parts["ch"];
            propertyKey = parts["key"];
            arrayLen = JsonTools.ToNumber(parts["len"]);
            propertyIndex = JsonTools.ToNumber(parts["index"]);
            has = PropertyPath.Parse(JsonTools.Text(parts["property"]) is { Length: > 0 } pp ? pp : "payload").TryGet(data, out property);
        }
        else
        {
            type = Config.Build is { Length: > 0 } b ? b : "array";
            targetCount = CountSetting;
            joinChar = Joiner();
            // As Node-RED: with no count configured ("") the sequence the message came in (split, html...) is completed.
            if (parts is not null && Node.Config["count"] is JsonValue c && c.TryGetValue<string>(out var cs) && cs.Length == 0)
            {
                targetCount = JsonTools.ToNumber(parts["count"]) is var n && n > 0 ? n : 0;
                if (parts.TryGetPropertyValue("id", out var id))
                {
                    key = JsonTools.ToJsString(id);
                }
            }
            if (full)
            {
                property = data;
                has = true;
            }
            else
            {
                has = PropertyPath.Parse(string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property).TryGet(data, out property);
            }
            if (type == "object")
            {
                PropertyPath.Parse(string.IsNullOrEmpty(Config.Key) ? "topic" : Config.Key).TryGet(data, out propertyKey);
            }
        }
        _groups.TryGetValue(key, out var group);
        if (data.ContainsKey("restartTimeout") && group is not null)
        {
            group.Timer?.Dispose();
            group.Timer = TimeoutMs > 0 ? StartTimer(key, group) : null;
        }
        if (data.ContainsKey("reset"))
        {
            if (group is not null)
            {
                group.Timer?.Dispose();
                _groups.Remove(key);
            }
            return;
        }
        if (type == "object" && (propertyKey is null || JsSpecial.IsUndefined(propertyKey) || JsonTools.Text(propertyKey) == ""))
        {
            if (Auto)
            {
                Node.Warn("Message missing 'msg.parts.key' property - cannot add to object");
            }
            else if (data.ContainsKey("complete"))
            {
                if (group is not null)
                {
                    group.Msg["complete"] = data["complete"]?.DeepClone();
                    outgoing.Add(Complete(key, group));
                }
            }
            else
            {
                Node.Warn("Message missing key property 'msg." + (string.IsNullOrEmpty(Config.Key) ? "topic" : Config.Key) + "' - cannot add to object");
            }
            return;
        }
        if (group is null)
        {
            group = new Group
            {
                Type = type is "object" or "merged" ? "object" : type,
                TargetCount = targetCount,
                JoinChar = joinChar?.DeepClone(),
                ArrayLen = arrayLen,
                Msg = (JsonObject)data.DeepClone(),
                Prop = Auto ? JsonTools.Text(parts!["property"]) : full ? "payload" : Config.Property,
            };
            _groups[key] = group;
            if (TimeoutMs > 0)
            {
                group.Timer = StartTimer(key, group);
            }
        }
        has = has && !JsSpecial.IsUndefined(property);
        if (type == "buffer" && has
            && !JsonTools.IsBuffer(property) && !JsonTools.IsString(property, out _) && property is not JsonArray)
        {
            Node.Error("Cannot join " + JsonTools.TypeOf(property) + " to buffer", msg);
            return;
        }
        Add(group, type, has ? property : JsSpecial.UndefinedNode(), has, propertyKey, propertyIndex, data);
        foreach (var (k, v) in data)
        {
            group.Msg[k] = v?.DeepClone();
        }
        group.Refs = msg.Refs;
        var tcnt = group.TargetCount;
        if (parts is not null)
        {
            tcnt = tcnt is > 0 or < 0 ? tcnt : JsonTools.ToNumber(parts["count"]);
            group.TargetCount = tcnt;
        }
        if ((tcnt > 0 && group.CurrentCount >= tcnt) || data.ContainsKey("complete"))
        {
            outgoing.Add(Complete(key, group));
        }
    }

    /// <summary>Adds one part (<paramref name="has"/>: the property exists and is not undefined).</summary>
    private void Add(Group group, string type, JsonNode? property, bool has, JsonNode? propertyKey, double index, JsonObject data)
    {
        if (type == "object")
        {
            group.Object[JsonTools.ToJsString(propertyKey)] = property?.DeepClone();
            group.CurrentCount = group.Object.Count;
        }
        else if (type == "merged")
        {
            if (property is JsonObject o && !JsonTools.IsBuffer(o))
            {
                foreach (var (k, v) in o)
                {
                    if (k != "_msgid")
                    {
                        group.Object[k] = v?.DeepClone();
                    }
                }
                group.CurrentCount = group.Object.Count;
            }
            else if (!data.ContainsKey("complete"))
            {
                Node.Warn("Cannot merge non-object types");
            }
        }
        else if (!double.IsNaN(index) && index >= 0 && index < MaxIndex && index == Math.Floor(index))
        {
            var i = (int)index;
            while (group.Items.Count <= i)
            {
                group.Items.Add((false, null));
            }
            // JavaScript's `payload[i] == undefined`: a hole, an undefined or a null slot counts as new.
            if (!group.Items[i].Set || group.Items[i].Value is null || JsSpecial.IsUndefined(group.Items[i].Value))
            {
                group.CurrentCount++;
            }
            group.Items[i] = (true, property?.DeepClone());
        }
        else if (has)
        {
            group.Items.Add((true, property?.DeepClone()));
            group.CurrentCount++;
        }
    }

    /// <summary>The configured joiner: a string with \n, \r, \t, \0 escapes, or bytes for the "bin" type.</summary>
    private JsonNode? Joiner()
    {
        var raw = Node.Config["joiner"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
        if (Config.JoinerType == "bin")
        {
            try
            {
                return JsonTools.Parse(raw.Length == 0 ? "[]" : raw) is JsonArray bytes
                    ? JsonTools.Buffer(bytes.Select(x => (byte)((int)JsonTools.ToNumber(x) & 0xff)).ToArray())
                    : JsonValue.Create("");
            }
            catch (JsonException)
            {
                return JsonValue.Create("");
            }
        }
        return JsonValue.Create(raw.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\r", "\r", StringComparison.Ordinal)
            .Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\e", "e", StringComparison.Ordinal)
            .Replace("\\f", "\f", StringComparison.Ordinal).Replace("\\0", "\0", StringComparison.Ordinal));
    }

    private Timer StartTimer(string key, Group group) =>
        new(_ => Release(key, group), null, TimeSpan.FromMilliseconds(TimeoutMs), Timeout.InfiniteTimeSpan);

    private void Release(string key, Group group)
    {
        FlowMessage? msg;
        lock (_lock)
        {
            if (!_groups.TryGetValue(key, out var current) || current != group)
            {
                return;
            }
            msg = Complete(key, group);
        }
        Node.Send(msg);
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

    [NodeProperty(Default = "\"auto\"", UiHint = PropertyUi.Select, Options = ["auto:automatic", "custom:manual", "reduce:reduce sequence"], Label = "Mode")]
    public string? Mode { get; set; } = "auto";

    [NodeProperty(Default = "\"array\"", UiHint = PropertyUi.Select, Options = ["string:a String", "buffer:a Buffer", "array:an Array", "object:a key/value Object", "merged:a merged Object"], Label = "Combine each")]
    public string? Build { get; set; } = "array";

    [NodeProperty(Default = "\"payload\"", Label = "Property")]
    public string? Property { get; set; } = "payload";

    [NodeProperty(Default = "\"msg\"", UiHint = PropertyUi.Select, Options = ["msg:msg property", "full:complete message"], Label = "of")]
    public string? PropertyType { get; set; } = "msg";

    [NodeProperty(Default = "\"topic\"", Label = "using the value of msg.")]
    public string? Key { get; set; } = "topic";

    [NodeProperty(Default = "\"\\\\n\"", Label = "joined using")]
    public string? Joiner { get; set; } = "\\n";

    [NodeProperty(Default = "\"str\"", UiHint = PropertyUi.Select, Options = ["str:string", "bin:buffer (byte array)"], Label = "joiner type")]
    public string? JoinerType { get; set; } = "str";

    /// <summary>Manual key/value and merged objects: keep the object after sending and send it again on every later message.</summary>
    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "and every subsequent message")]
    public bool Accumulate { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "After a number of message parts")]
    public int Count { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "After a timeout (s)")]
    public double Timeout { get; set; }

    /// <summary>Manual mode: whether a message's <c>msg.parts</c> counts (Node-RED's default when absent) or is dropped.</summary>
    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "Use existing msg.parts property")]
    public bool? UseParts { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Evaluate in reverse order (last to first)")]
    public bool ReduceRight { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Reduce exp")]
    public string? ReduceExp { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Typed, TypeProperty = "reduceInitType", Types = ["num", "str", "bool", "json", "bin", "date", "jsonata", "flow", "global", "env"], Label = "Initial value")]
    public string? ReduceInit { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Hidden)]
    public string? ReduceInitType { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Fixup exp")]
    public string? ReduceFixup { get; set; }
}
