using System.Globalization;
using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using NCrontab;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>
/// FlowFleet's timer: fires on a cron schedule with seconds, on an interval, or at the edges of a time-of-day window,
/// on chosen days of the week; started and stopped by messages.
/// </summary>
[NodeType("timer", Category = "function", Inputs = 1, Outputs = 1, Color = "#c7e9c0", Icon = "alarm",
    Help = """
    **cron**: 6 fields with seconds (`*/10 * * * * *` = every 10 s; `0 30 7 * * 1-5` = 07:30 on weekdays).
    **interval**: every `interval` seconds, only inside the time window when one is set.
    **window**: sends `onPayload` when the window (`start`–`end`, `HH:mm`, may pass midnight) opens and `offPayload` when it closes.
    `days` limits all modes to days of the week (0 = Sunday). Send `stop` / `start` (payload or `msg.stop` / `msg.start`) to pause
    and resume. The status shows the next time it fires.
    """)]
public sealed class TimerNode(TimeProvider? time = null) : FlowNode<TimerConfig>
{
    // The host's clock (a FakeTimeProvider in tests): the schedule, windows and days all read it.
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private DateTime? _due;
    private IClusterLease? _lease;
    private CrontabSchedule? _cron;
    private bool _running;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (Config.Mode == "cron")
        {
            _cron = CrontabSchedule.TryParse(Config.Cron ?? "", new CrontabSchedule.ParseOptions { IncludingSeconds = true })
                ?? CrontabSchedule.TryParse(Config.Cron ?? "")
                ?? throw new InvalidOperationException($"Invalid cron expression '{Config.Cron}'");
        }
        // In a cluster the timer fires on the instance holding this node's lease, unless it runs on every instance.
        _lease = ClusterSchedule.LeaseFor(Node, Config.EveryInstance);
        _timer = _time.CreateTimer(_ => Tick(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (Config.StartOnDeploy)
        {
            Start();
        }
        else
        {
            Node.Status(new NodeStatus("grey", "ring", "stopped"));
        }
        return Task.CompletedTask;
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var command = msg.Data.ContainsKey("stop") ? "stop" : msg.Data.ContainsKey("start") ? "start" : JsonTools.ToJsString(msg.Payload).ToLowerInvariant();
        switch (command)
        {
            case "stop":
                lock (_lock)
                {
                    _running = false;
                    _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                }
                Node.Status(new NodeStatus("grey", "ring", "stopped"));
                break;
            case "start":
                Start();
                break;
            default:
                throw new InvalidOperationException("timer understands 'start' and 'stop'");
        }
        return ValueTask.CompletedTask;
    }

    private DateTime Now => _time.GetLocalNow().DateTime;

    private void Start()
    {
        lock (_lock)
        {
            _running = true;
        }
        ScheduleNext(Now);
    }

    private void Tick()
    {
        var now = Now;
        // A timer can wake a few milliseconds before the time it was set for. The occurrence it was set for is the one being
        // served, so the next is counted from it: counted from "now", the same occurrence came round again and fired twice.
        if (_due is { } due && now < due)
        {
            now = due;
        }
        if (!_running)
        {
            return;
        }
        if (_lease is { Held: false })
        {
            ScheduleNext(now);
            return;
        }
        if (Config.Mode == "window")
        {
            var open = InWindow(now);
            Emit(open ? Config.OnPayload : Config.OffPayload, open ? Config.OnPayloadType : "json", open ? "on" : "off");
        }
        else if (DayAllowed(now) && (Config.Mode != "interval" || !HasWindow || InWindow(now)))
        {
            Emit(Config.OnPayload, Config.OnPayloadType, null);
        }
        ScheduleNext(now);
    }

    private void Emit(JsonNode? value, string? type, string? state)
    {
        var msg = FlowMessage.Create(Node.Evaluate(type ?? "date", value, null), Config.Topic);
        if (state is not null)
        {
            msg.Data["state"] = state;
        }
        Node.Send(msg);
    }

    private void ScheduleNext(DateTime now)
    {
        var next = Next(now);
        lock (_lock)
        {
            if (!_running || next is null)
            {
                return;
            }
            _due = next;
            var wait = next.Value - Now;
            _timer?.Change(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, Timeout.InfiniteTimeSpan);
        }
        Node.Status(new NodeStatus("green", "dot", "next " + next.Value.ToString("ddd HH:mm:ss", CultureInfo.InvariantCulture)));
    }

    /// <summary>The next time this node fires after <paramref name="now"/> (looks a week ahead at most).</summary>
    internal DateTime? Next(DateTime now)
    {
        switch (Config.Mode)
        {
            case "cron":
                for (var t = _cron!.GetNextOccurrence(now); t < now.AddDays(8); t = _cron.GetNextOccurrence(t))
                {
                    if (DayAllowed(t))
                    {
                        return t;
                    }
                }
                return null;
            case "window":
                {
                    var candidates = Enumerable.Range(0, 8).SelectMany(d => new[] { now.Date.AddDays(d) + Start_, now.Date.AddDays(d) + End_ })
                        .Where(t => t > now && DayAllowed(t)).Order().ToList();
                    return candidates.Count > 0 ? candidates[0] : null;
                }
            default:
                return now.AddSeconds(Math.Max(0.01, Config.Interval));
        }
    }

    private TimeSpan Start_ => ParseTime(Config.Start);

    private TimeSpan End_ => ParseTime(Config.End);

    private bool HasWindow => !string.IsNullOrEmpty(Config.Start) && !string.IsNullOrEmpty(Config.End);

    internal bool InWindow(DateTime t)
    {
        if (!HasWindow)
        {
            return true;
        }
        var tod = t.TimeOfDay;
        return Start_ <= End_ ? tod >= Start_ && tod < End_ : tod >= Start_ || tod < End_;
    }

    private bool DayAllowed(DateTime t) =>
        Config.Days is not { Count: > 0 } days || days.Any(d => (int)JsonTools.ToNumber(d) == (int)t.DayOfWeek);

    private static TimeSpan ParseTime(string? text) =>
        TimeSpan.TryParseExact(text ?? "", ["h\\:mm", "hh\\:mm", "hh\\:mm\\:ss"], CultureInfo.InvariantCulture, out var t) ? t : TimeSpan.Zero;

    public override ValueTask CloseAsync(bool removed)
    {
        lock (_lock)
        {
            _running = false;
            _timer?.Dispose();
        }
        _lease?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class TimerConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"interval\"", UiHint = PropertyUi.Select, Options = ["cron:Cron schedule (with seconds)", "interval:Interval", "window:Time window on/off"], Label = "Mode")]
    public string? Mode { get; set; } = "interval";

    [NodeProperty(Default = "\"0 * * * * *\"", UiHint = PropertyUi.Cron, Label = "Cron")]
    public string? Cron { get; set; }

    [NodeProperty(Default = "60", UiHint = PropertyUi.Number, Label = "Interval (s)")]
    public double Interval { get; set; } = 60;

    [NodeProperty(Default = "\"\"", Label = "Window start (HH:mm)")]
    public string? Start { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Window end (HH:mm)")]
    public string? End { get; set; }

    [NodeProperty(Default = "[]", UiHint = PropertyUi.Json, Label = "Days (0=Sun..6=Sat; empty = every day)")]
    public JsonArray? Days { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Typed, TypeProperty = "onPayloadType", Types = ["date", "str", "num", "bool", "json"], Label = "Payload (on)")]
    public JsonNode? OnPayload { get; set; }

    [NodeProperty(Default = "\"date\"", UiHint = PropertyUi.Hidden)]
    public string? OnPayloadType { get; set; } = "date";

    [NodeProperty(Default = "false", UiHint = PropertyUi.Json, Label = "Payload (off, window mode)")]
    public JsonNode? OffPayload { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Topic")]
    public string? Topic { get; set; }

    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "Start on deploy")]
    public bool StartOnDeploy { get; set; } = true;

    /// <summary>In a cluster: fire on every instance instead of once per cluster (the default).</summary>
    [NodeProperty(UiHint = PropertyUi.Checkbox, Label = "Run on every instance (cluster)")]
    public bool EveryInstance { get; set; }
}
