using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>
/// Node-RED's delay (89-delay.js): delays each message, or limits the rate (all messages, in bursts, or per topic), dropping
/// or queueing. Control messages (<c>msg.reset</c>, <c>msg.flush</c>) follow Node-RED to the letter, including that such a
/// message with other properties is itself delayed or queued, so a flush sends it too.
/// </summary>
[NodeType("delay", Category = "function", Color = "#e6e0f8", Icon = "schedule", OutputsProperty = "outputs",
    Help = """
    **Delay** each message by a fixed time, `msg.delay` (ms) or a random time; or **rate limit** to `rate` messages per
    `nbRateUnits` `rateUnits` (queue them, or drop extras — to a second output when `outputs` is 2); let **bursts** of `rate`
    messages through per interval; or per **topic**: keep the latest message of each topic and release them on the interval
    (`timed` sends all, `queue` one topic at a time). `msg.reset` clears pending messages without sending; `msg.flush` sends
    them now (a number: that many); `msg.toFront` queues a message first. A control message with other properties is handled
    like any other message as well, as Node-RED does.
    """)]
public sealed partial class DelayNode(TimeProvider? time = null) : FlowNode<DelayConfig>, INodeLabel
{
    // The host's clock (a FakeTimeProvider in tests): delays, intervals and the drop mode's "since last sent" all read it.
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    // One lock for all state and the sends made from it: Node-RED runs input and timers on one thread, so a timer's send
    // and an input's flush never interleave there either.
    private readonly Lock _lock = new();

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (Config.PauseType is "queue" or "timed")
        {
            StartTopicInterval();
        }
        return Task.CompletedTask;
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        switch (Config.PauseType)
        {
            case "delayv":
                var fallback = FixedMs;
                var asked = msg.Data.ContainsKey("delay") ? JsParseFloat(msg.Data["delay"]) : double.NaN;
                Timeout(msg, Math.Max(0, double.IsNaN(asked) ? fallback : asked), resetWins: false);
                break;
            case "random":
                var first = TimeUnits.Of(Config.RandomFirst ?? 0, Config.RandomUnits).TotalMilliseconds;
                var last = TimeUnits.Of(Config.RandomLast ?? 0, Config.RandomUnits).TotalMilliseconds;
                Timeout(msg, first + ((last - first) * Random.Shared.NextDouble()), resetWins: false);
                break;
            case "rate" when Config.Drop:
                RateDrop(msg);
                break;
            case "rate":
                RateQueue(msg);
                break;
            case "burst":
                Burst(msg);
                break;
            case "queue":
            case "timed":
                ByTopic(msg);
                break;
            default:
                Timeout(msg, FixedMs, resetWins: true);
                break;
        }
        return ValueTask.CompletedTask;
    }

    private double FixedMs => TimeUnits.Of(Config.Timeout ?? 0, Config.TimeoutUnits).TotalMilliseconds;

    /// <summary>The count of keys Node-RED sees on the message: it always has <c>_msgid</c>.</summary>
    private static int NrKeys(FlowMessage msg) => msg.Data.Count + (msg.Data.ContainsKey("_msgid") ? 0 : 1);

    /// <summary>JavaScript's <c>typeof x == 'number'</c> (flush counts), as a count floored; null when not a number.</summary>
    private static int? FlushCount(JsonNode? flush) =>
        flush is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            ? (int)Math.Clamp(Math.Floor(JsonTools.ToNumber(v)), int.MinValue, int.MaxValue)
            : null;

    /// <summary>JavaScript's <c>parseFloat</c> of a property (NaN when it does not start with a number).</summary>
    private static double JsParseFloat(JsonNode? node)
    {
        if (JsonTools.IsNumber(node, out var d))
        {
            return d;
        }
        var s = JsonTools.ToJsString(node).TrimStart();
        var end = 0;
        while (end < s.Length && (char.IsAsciiDigit(s[end]) || s[end] is '.' or '-' or '+' or 'e' or 'E'))
        {
            end++;
        }
        for (; end > 0; end--)
        {
            if (double.TryParse(s.AsSpan(0, end), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v))
            {
                return v;
            }
        }
        return s.StartsWith("Infinity", StringComparison.Ordinal) ? double.PositiveInfinity : double.NaN;
    }

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(Math.Clamp(double.IsNaN(ms) ? 1 : ms, 1, int.MaxValue));

    private void Status(int count) =>
        Node.Status(count > 0 ? new NodeStatus("blue", "dot", count.ToString(System.Globalization.CultureInfo.InvariantCulture)) : NodeStatus.Clear);

    public override ValueTask CloseAsync(bool removed)
    {
        lock (_lock)
        {
            ClearTimeouts();
            CloseRate();
            CloseTopics();
            CloseTopicInterval();
        }
        return ValueTask.CompletedTask;
    }
}
