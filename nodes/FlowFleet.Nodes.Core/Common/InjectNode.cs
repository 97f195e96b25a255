using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Scripting.Jsonata;
using NCrontab;

namespace FlowFleet.Nodes.Core.Common;

/// <summary>Node-RED's inject: sends configured props on a button press, once at start, on an interval or a cron schedule.</summary>
[NodeType("inject", Category = "common", Inputs = 0, Outputs = 1, Color = "#a6bbcf", Icon = "input", LabelProperty = "payload", Button = NodeButtonKind.Trigger,
    Help = """
    Injects a message into a flow: by hand (the button), once after deploy (`once` + `onceDelay` seconds), every `repeat`
    seconds, or on a `crontab` schedule (5 fields: minute hour day month weekday). `props` lists the properties set
    (`payload`, `topic`, any `msg` property) with typed values: string, number, boolean, JSON, buffer, timestamp, flow/global, env.
    """)]
public sealed partial class InjectNode : FlowNode<InjectConfig>, IInjectable, INodeLabel
{
    private Timer? _timer;
    private Timer? _onceTimer;
    private IClusterLease? _lease;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // As Node-RED: an invalid JSONata prop is reported at deploy; the node still runs (each press reports it again).
        foreach (var p in (Config.Props ?? []).OfType<JsonObject>().Where(p => p["vt"]?.ToString() == "jsonata"))
        {
            try
            {
                TypedInput.Jsonata(p["v"] is { } v ? JsonTools.ToJsString(v) : "", Node);
            }
            catch (JsonataException ex)
            {
                Node.Error("Invalid JSONata expression: " + ex.Message);
            }
        }
        // In a cluster, scheduled injects fire on the instance holding this node's lease (a press of the button fires here).
        _lease = Config.Once || !string.IsNullOrWhiteSpace(Config.Repeat) || !string.IsNullOrWhiteSpace(Config.Crontab)
            ? ClusterSchedule.LeaseFor(Node, Config.EveryInstance) : null;
        if (Config.Once)
        {
            var delay = TimeSpan.FromSeconds(Math.Max(0, Config.OnceDelay ?? 0.1));
            _onceTimer = new Timer(_ => _ = OnceAsync(), null, delay, Timeout.InfiniteTimeSpan);
        }
        if (double.TryParse(Config.Repeat, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
        {
            var period = TimeSpan.FromSeconds(seconds);
            _timer = new Timer(_ => Tick(), null, period, period);
        }
        else if (!string.IsNullOrWhiteSpace(Config.Crontab))
        {
            var schedule = CrontabSchedule.TryParse(Config.Crontab.Trim())
                ?? throw new InvalidOperationException($"Invalid crontab '{Config.Crontab}'");
            _timer = new Timer(_ => OnCron(schedule), null, Timeout.Infinite, Timeout.Infinite);
            ScheduleNext(schedule);
        }
        return Task.CompletedTask;
    }

    private async Task OnceAsync()
    {
        if (_lease is { } lease)
        {
            // Every instance deploys at once: the one that takes the lease sends the "once" message.
            await Task.WhenAny(lease.FirstAttempt, Task.Delay(TimeSpan.FromSeconds(30), Node.Closing)).ConfigureAwait(false);
        }
        Tick();
    }

    private void Tick()
    {
        if (_lease is not { Held: false })
        {
            Fire(null);
        }
    }

    private void OnCron(CrontabSchedule schedule)
    {
        Tick();
        ScheduleNext(schedule);
    }

    private void ScheduleNext(CrontabSchedule schedule)
    {
        var now = DateTime.Now;
        var next = schedule.GetNextOccurrence(now);
        _timer?.Change(next - now + TimeSpan.FromMilliseconds(5), Timeout.InfiniteTimeSpan);
    }

    public void Inject(JsonArray? overrideProps) => Fire(overrideProps);

    private void Fire(JsonArray? overrideProps)
    {
        if (Node.Closing.IsCancellationRequested)
        {
            return;
        }
        var msg = new FlowMessage(new JsonObject { ["_msgid"] = MessageId.New() });
        var errors = new List<string>();
        try
        {
            foreach (var p in EffectiveProps(overrideProps))
            {
                var name = p["p"]?.GetValue<string>();
                if (string.IsNullOrEmpty(name))
                {
                    continue;
                }
                var (value, type) = ValueOf(p, name);
                if (type == "jsonata")
                {
                    SetFromJsonata(msg, name, value, errors);
                    continue;
                }
                if (type == "str" && value is JsonValue sv && sv.TryGetValue<string>(out var text) && WholeEnvVar().Match(text) is { Success: true } env)
                {
                    // As Node-RED: a str value that is exactly ${VAR} is that environment value.
                    value = Node.GetEnv(env.Groups[1].Value) ?? "";
                }
                var result = Node.Evaluate(type, value, msg);
                // Node-RED's setMessageProperty deletes a property whose value is undefined (a missing context key, ...).
                if (result is null && !TypedInput.IsDefined(type, value, msg, result))
                {
                    PropertyPath.Parse(name).Delete(msg.Data);
                }
                else
                {
                    PropertyPath.Parse(name).Set(msg.Data, result);
                }
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or NotSupportedException)
        {
            Node.Error(ex.Message, msg);
            return;
        }
        if (errors.Count > 0)
        {
            // Node-RED evaluates every prop, then reports all failures at once (catchable) and sends nothing.
            Node.Error(string.Join("; ", errors), msg);
            return;
        }
        Node.Send(msg);
    }

    /// <summary>A JSONata prop (evaluated against the message built so far); an empty expression leaves it unset.</summary>
    private void SetFromJsonata(FlowMessage msg, string name, JsonNode? value, List<string> errors)
    {
        var text = value is null ? "" : JsonTools.ToJsString(value);
        if (text.Length == 0)
        {
            return;
        }
        JsonataExpression expression;
        try
        {
            expression = TypedInput.Jsonata(text, Node);
        }
        catch (JsonataException ex)
        {
            errors.Add(ex.Message);
            return;
        }
        try
        {
            var result = expression.Evaluate(msg);
            if (result.IsDefined)
            {
                PropertyPath.Parse(name).Set(msg.Data, result.Value);
            }
            else
            {
                PropertyPath.Parse(name).Delete(msg.Data);
            }
        }
        catch (JsonataException ex)
        {
            errors.Add("Invalid JSONata expression: " + ex.Message);
        }
    }

    /// <summary>Node-RED keeps topic and payload values on the node for old flows; props without v/vt take them.</summary>
    private (JsonNode? Value, string? Type) ValueOf(JsonNode p, string name)
    {
        // As Node-RED: payload without a value takes the node's payload/payloadType; a string topic without one, the node's topic.
        var hasValue = p is JsonObject o && o.ContainsKey("v");
        if (name == "payload" && !hasValue)
        {
            return (Node.Config["payload"]?.DeepClone(), Node.Config["payloadType"]?.GetValue<string>() ?? "date");
        }
        if (name == "topic" && !hasValue && (p["vt"] is null || p["vt"]!.GetValue<string>() == "str"))
        {
            return (Node.Config["topic"]?.DeepClone(), "str");
        }
        if (p["vt"] is not null || hasValue)
        {
            return (p["v"]?.DeepClone(), p["vt"]?.GetValue<string>() ?? "str");
        }
        return name switch
        {
            "payload" => (Node.Config["payload"]?.DeepClone(), Node.Config["payloadType"]?.GetValue<string>() ?? "date"),
            "topic" => (Node.Config["topic"]?.DeepClone(), "str"),
            _ => (null, "str"),
        };
    }

    private IEnumerable<JsonNode> EffectiveProps(JsonArray? overrideProps)
    {
        if (overrideProps is not null)
        {
            return overrideProps.OfType<JsonNode>();
        }
        // An empty props list sends a bare message (only _msgid), as Node-RED does.
        if (Node.Config["props"] is JsonArray props)
        {
            return props.OfType<JsonNode>();
        }
        // Flows from before Node-RED 1.1 have no props: payload and topic only.
        return [new JsonObject { ["p"] = "payload" }, new JsonObject { ["p"] = "topic" }];
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\$\{([0-9a-zA-Z_]+)\}$")]
    private static partial System.Text.RegularExpressions.Regex WholeEnvVar();

    public override ValueTask CloseAsync(bool removed)
    {
        _timer?.Dispose();
        _onceTimer?.Dispose();
        _lease?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class InjectConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = """[{"p":"payload"},{"p":"topic","vt":"str"}]""", Rules = RuleList.Props, Label = "Properties")]
    public JsonArray? Props { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "Repeat (s)")]
    public string? Repeat { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Cron, Label = "Cron")]
    public string? Crontab { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Inject once after")]
    public bool Once { get; set; }

    [NodeProperty(Default = "0.1", UiHint = PropertyUi.Number, Label = "Once delay (s)")]
    public double? OnceDelay { get; set; }

    /// <summary>In a cluster: fire on every instance instead of once per cluster (no default, so Node-RED's flows stay as they are).</summary>
    [NodeProperty(UiHint = PropertyUi.Checkbox, Label = "Run on every instance (cluster)")]
    public bool EveryInstance { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Hidden)]
    public string? Topic { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Hidden)]
    public JsonNode? Payload { get; set; }

    [NodeProperty(Default = "\"date\"", UiHint = PropertyUi.Hidden)]
    public string? PayloadType { get; set; }
}
