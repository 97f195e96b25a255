using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>Node-RED's trigger: sends a first value at once, then a second after a time unless reset (or extended).</summary>
[NodeType("trigger", Category = "function", Color = "#e6e0f8", Icon = "timer", OutputsProperty = "outputs",
    Help = """
    On a message, sends **op1** now, waits **duration** and sends **op2** (on the second output when `outputs` is 2).
    Values: string, number, boolean, JSON, the original message (`pay`), the latest message (`payl`), nothing (`nul`).
    While waiting, new messages are ignored — or **extend** the wait. Duration 0 waits until reset; a negative one repeats
    op1 every interval. `msg.reset`, or a payload equal to `reset`, stops it. `bytopic` handles each `msg.topic` apart.
    """)]
public sealed class TriggerNode(TimeProvider? time = null) : FlowNode<TriggerConfig>
{
    // The host's clock (a FakeTimeProvider in tests).
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, State> _states = new(StringComparer.Ordinal);

    private sealed class State
    {
        public ITimer? Timer { get; set; }

        public FlowMessage First { get; set; } = null!;

        public FlowMessage Latest { get; set; } = null!;
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var key = Config.Bytopic == "topic" ? JsonTools.ToJsString(PropertyPath.Parse(Config.Topic ?? "topic").Get(msg.Data)) : "";
        var isReset = msg.Data.ContainsKey("reset") ||
            (!string.IsNullOrEmpty(Config.Reset) && JsonTools.ToJsString(msg.Payload) == Config.Reset);
        lock (_lock)
        {
            if (isReset)
            {
                if (Config.Bytopic == "topic" && _states.Remove(key, out var one))
                {
                    one.Timer?.Dispose();
                }
                else
                {
                    foreach (var s in _states.Values)
                    {
                        s.Timer?.Dispose();
                    }
                    _states.Clear();
                }
                UpdateStatus();
                return ValueTask.CompletedTask;
            }
            if (_states.TryGetValue(key, out var running))
            {
                running.Latest = msg;
                if (Config.Extend && running.Timer is not null)
                {
                    running.Timer.Change(Duration(msg), Timeout.InfiniteTimeSpan);
                }
                return ValueTask.CompletedTask;
            }
            var state = new State { First = msg, Latest = msg };
            var first = Value(Config.Op1type, Config.Op1, msg, msg);
            if (first is not null)
            {
                Node.Send(0, first);
            }
            var duration = Duration(msg);
            if (Config.Duration < 0)
            {
                state.Timer = _time.CreateTimer(_ => Repeat(state), null, duration, duration);
                _states[key] = state;
            }
            else if (Config.Duration > 0 || (msg.Data["delay"] is not null && Config.OverrideDelay))
            {
                state.Timer = _time.CreateTimer(_ => Fire(key, state), null, duration, Timeout.InfiniteTimeSpan);
                _states[key] = state;
            }
            else if (Config.Duration == 0)
            {
                _states[key] = state;
            }
            UpdateStatus();
        }
        return ValueTask.CompletedTask;
    }

    private TimeSpan Duration(FlowMessage msg)
    {
        if (Config.OverrideDelay && msg.Data["delay"] is { } d && !double.IsNaN(JsonTools.ToNumber(d)))
        {
            return TimeSpan.FromMilliseconds(Math.Max(0, JsonTools.ToNumber(d)));
        }
        return TimeUnits.Of(Math.Abs(Config.Duration), Config.Units ?? "ms");
    }

    private void Repeat(State state)
    {
        var again = Value(Config.Op1type, Config.Op1, state.First, state.Latest);
        if (again is not null)
        {
            Node.Send(0, again);
        }
    }

    private void Fire(string key, State state)
    {
        lock (_lock)
        {
            if (!_states.TryGetValue(key, out var current) || current != state)
            {
                return;
            }
            _states.Remove(key);
            state.Timer?.Dispose();
            UpdateStatus();
        }
        var second = Value(Config.Op2type, Config.Op2, state.First, state.Latest);
        if (second is not null)
        {
            Node.Send(Config.Outputs >= 2 ? 1 : 0, second);
        }
    }

    /// <summary>The message to send for op1/op2, or null for "send nothing".</summary>
    private FlowMessage? Value(string? type, JsonNode? value, FlowMessage first, FlowMessage latest)
    {
        switch (type ?? "str")
        {
            case "nul":
                return null;
            case "pay":
                return first.Clone();
            case "payl":
                return latest.Clone();
            default:
                var msg = first.Clone();
                msg.Payload = Node.Evaluate(type, value, first);
                return msg;
        }
    }

    private void UpdateStatus() =>
        Node.Status(_states.Count > 0 ? new NodeStatus("blue", "dot", "") : NodeStatus.Clear);

    public override ValueTask CloseAsync(bool removed)
    {
        lock (_lock)
        {
            foreach (var s in _states.Values)
            {
                s.Timer?.Dispose();
            }
            _states.Clear();
        }
        return ValueTask.CompletedTask;
    }
}

public sealed class TriggerConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"1\"", UiHint = PropertyUi.Typed, TypeProperty = "op1type", Types = ["str", "num", "bool", "json", "pay", "nul", "date", "flow", "global", "env"], Label = "Send")]
    public JsonNode? Op1 { get; set; }

    [NodeProperty(Default = "\"str\"", UiHint = PropertyUi.Hidden)]
    public string? Op1type { get; set; } = "str";

    [NodeProperty(Default = "\"0\"", UiHint = PropertyUi.Typed, TypeProperty = "op2type", Types = ["str", "num", "bool", "json", "pay", "payl", "nul", "date", "flow", "global", "env"], Label = "then send")]
    public JsonNode? Op2 { get; set; }

    [NodeProperty(Default = "\"str\"", UiHint = PropertyUi.Hidden)]
    public string? Op2type { get; set; } = "str";

    [NodeProperty(Default = "\"250\"", UiHint = PropertyUi.Number, Label = "Wait for")]
    public double Duration { get; set; } = 250;

    [NodeProperty(Default = "\"ms\"", UiHint = PropertyUi.Select, Options = ["ms:Milliseconds", "s:Seconds", "min:Minutes", "hr:Hours"], Label = "Units")]
    public string? Units { get; set; } = "ms";

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Extend delay if new message arrives")]
    public bool Extend { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Override delay with msg.delay")]
    public bool OverrideDelay { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Reset if msg.payload equals")]
    public string? Reset { get; set; }

    [NodeProperty(Default = "\"all\"", UiHint = PropertyUi.Select, Options = ["all:All messages", "topic:Each msg.topic"], Label = "Handling")]
    public string? Bytopic { get; set; } = "all";

    [NodeProperty(Default = "\"topic\"", Label = "Topic property")]
    public string? Topic { get; set; } = "topic";

    [NodeProperty(Default = "1", UiHint = PropertyUi.Hidden)]
    public int Outputs { get; set; } = 1;
}
