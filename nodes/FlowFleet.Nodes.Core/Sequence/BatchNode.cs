using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Sequence;

/// <summary>Node-RED's batch: makes message sequences by count (with overlap), by time interval, or by concatenating sequences per topic.</summary>
[NodeType("batch", Category = "sequence", Color = "#e2d96e", Icon = "view_module",
    Help = """
    `mode`: **count** sends a sequence every `count` messages (the last `overlap` repeat in the next one; `honourParts` ends a
    sequence early at the end of an incoming one); **interval** sends what arrived every `interval` seconds (an empty
    sequence of one `payload: null` message when `allowEmptySequence`); **concat** waits for one complete sequence of each
    topic in `topics` and sends them one after the other. Each message gets `msg.parts` (`id`, `index`, `count`);
    `msg.reset` drops what is pending.
    """)]
public sealed class BatchNode(TimeProvider? time = null) : FlowNode<BatchConfig>
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private List<FlowMessage> _queue = [];
    private readonly Dictionary<string, List<(string Id, List<FlowMessage> Messages, int Count)>> _topics = new(StringComparer.Ordinal);
    private ITimer? _timer;
    private bool _invalid;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        switch (Config.Mode ?? "count")
        {
            case "count" when Count <= Overlap:
                _invalid = true;
                Node.Error("Invalid count: it must be greater than the overlap");
                break;
            case "interval":
                StartTimer();
                break;
            case "count" or "concat":
                break;
            default:
                _invalid = true;
                Node.Error("Unexpected mode: " + Config.Mode);
                break;
        }
        return Task.CompletedTask;
    }

    /// <summary>Messages waiting for the next interval or count (tests).</summary>
    internal int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    private int Count => Config.Count is { } c && JsonTools.ToNumber(c) is var n && n > 0 ? (int)n : 1;

    private int Overlap => Config.Overlap is { } o ? (int)JsonTools.ToNumber(o) : 0;

    private void StartTimer()
    {
        var seconds = Config.Interval is { } i ? JsonTools.ToNumber(i) : 0;
        if (seconds > 0)
        {
            var period = TimeSpan.FromSeconds(seconds);
            _timer = _time.CreateTimer(_ => OnInterval(), null, period, period);
        }
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (_invalid)
        {
            return ValueTask.CompletedTask;
        }
        var mode = Config.Mode ?? "count";
        if (msg.Data.ContainsKey("reset"))
        {
            lock (_lock)
            {
                _queue = [];
                _topics.Clear();
                if (mode == "interval")
                {
                    _timer?.Dispose();
                    StartTimer();
                }
            }
            return ValueTask.CompletedTask;
        }
        switch (mode)
        {
            case "count":
                OnCount(msg);
                break;
            case "interval":
                lock (_lock)
                {
                    _queue.Add(msg);
                }
                break;
            default:
                OnConcat(msg);
                break;
        }
        return ValueTask.CompletedTask;
    }

    private void OnCount(FlowMessage msg)
    {
        var eof = Config.HonourParts && msg.Data["parts"] is JsonObject p && JsonTools.ToNumber(p["index"]) + 1 == JsonTools.ToNumber(p["count"]);
        lock (_lock)
        {
            _queue.Add(msg);
        }
        if (_queue.Count == Count || eof)
        {
            var overlap = Overlap;
            SendSequence(_queue, clone: overlap > 0);
            _queue = overlap == 0 ? [] : _queue.Skip(Math.Max(0, _queue.Count - overlap)).ToList();
        }
    }

    private void OnInterval()
    {
        List<FlowMessage> batch;
        lock (_lock)
        {
            batch = _queue;
            _queue = [];
        }
        if (batch.Count > 0)
        {
            SendSequence(batch, clone: false);
        }
        else if (Config.AllowEmptySequence)
        {
            Node.Send(new FlowMessage(new JsonObject
            {
                ["_msgid"] = MessageId.New(),
                ["payload"] = null,
                ["parts"] = new JsonObject { ["id"] = MessageId.New(), ["index"] = 0, ["count"] = 1 },
            }));
        }
    }

    private void OnConcat(FlowMessage msg)
    {
        var wanted = (Config.Topics ?? []).Select(t => t?["topic"] is { } x ? JsonTools.ToJsString(x) : "undefined").ToList();
        var topic = msg.Data["topic"] is { } mt ? JsonTools.ToJsString(mt) : "undefined";
        if (!wanted.Contains(topic))
        {
            return;
        }
        if (msg.Data["parts"] is not JsonObject parts || !parts.ContainsKey("id") || !parts.ContainsKey("index") || !parts.ContainsKey("count"))
        {
            throw new InvalidOperationException("no parts property in message");
        }
        var gid = JsonTools.ToJsString(parts["id"]);
        if (!_topics.TryGetValue(topic, out var groups))
        {
            _topics[topic] = groups = [];
        }
        var index = groups.FindIndex(g => g.Id == gid);
        if (index < 0)
        {
            groups.Add((gid, [], (int)JsonTools.ToNumber(parts["count"])));
            index = groups.Count - 1;
        }
        groups[index].Messages.Add(msg);
        var distinct = wanted.Distinct().ToList();
        if (!distinct.All(t => _topics.TryGetValue(t, out var g) && g.Count > 0 && g[0].Count == g[0].Messages.Count))
        {
            return;
        }
        // Node-RED concatenates per listed topic, in the order listed (a topic listed twice contributes twice).
        var all = wanted.SelectMany(t => _topics[t][0].Messages).ToList();
        foreach (var t in distinct)
        {
            _topics[t].RemoveAt(0);
        }
        SendSequence(all, clone: true);
    }

    private void SendSequence(List<FlowMessage> messages, bool clone)
    {
        // Every message has an _msgid in Node-RED; one injected without it gets one here.
        var id = messages[0].MsgId ?? (messages[0].MsgId = MessageId.New());
        for (var i = 0; i < messages.Count; i++)
        {
            var msg = clone ? messages[i].Clone() : messages[i];
            if (msg.Data["parts"] is not JsonObject parts)
            {
                msg.Data["parts"] = parts = [];
            }
            parts["id"] = id;
            parts["index"] = i;
            parts["count"] = messages.Count;
            Node.Send(msg);
        }
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _timer?.Dispose();
        lock (_lock)
        {
            _queue = [];
            _topics.Clear();
        }
        return ValueTask.CompletedTask;
    }
}

public sealed class BatchConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"count\"", UiHint = PropertyUi.Select, Options = ["count:Group by number of messages", "interval:Group by time interval", "concat:Concatenate sequences"], Label = "Mode")]
    public string? Mode { get; set; } = "count";

    [NodeProperty(Default = "10", UiHint = PropertyUi.Number, Label = "Number of messages")]
    public JsonNode? Count { get; set; }

    [NodeProperty(Default = "0", UiHint = PropertyUi.Number, Label = "Overlap")]
    public JsonNode? Overlap { get; set; }

    [NodeProperty(Default = "10", UiHint = PropertyUi.Number, Label = "Interval (seconds)")]
    public JsonNode? Interval { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Send empty message when no message arrives")]
    public bool AllowEmptySequence { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Honour existing msg.parts")]
    public bool HonourParts { get; set; }

    [NodeProperty(Default = "[{\"topic\":\"\"}]", UiHint = PropertyUi.Json, Label = "Topics (concat)")]
    public JsonArray? Topics { get; set; }
}
