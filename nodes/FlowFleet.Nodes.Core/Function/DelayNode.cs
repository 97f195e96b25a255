using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>Node-RED's delay: delays each message, or limits the rate (all messages or per topic), dropping or queueing.</summary>
[NodeType("delay", Category = "function", Color = "#e6e0f8", Icon = "schedule", OutputsProperty = "outputs",
    Help = """
    **Delay** each message by a fixed time, `msg.delay` (ms) or a random time; or **rate limit** to `rate` messages per
    `nbRateUnits` `rateUnits` (queue them, or drop extras — to a second output when `outputs` is 2); or per **topic**: keep the
    latest message of each topic and release them on the interval (`timed` sends all, `queue` one topic at a time).
    `msg.reset` clears pending messages without sending; `msg.flush` sends them now; `msg.toFront` queues a message first.
    """)]
public sealed partial class DelayNode : FlowNode<DelayConfig>, INodeLabel
{
    private readonly Lock _lock = new();
    private readonly LinkedList<FlowMessage> _queue = new();
    private readonly Dictionary<string, FlowMessage> _byTopic = new(StringComparer.Ordinal);
    private readonly List<string> _topicOrder = [];
    private readonly HashSet<PendingDelay> _pending = [];
    private Timer? _timer;
    private DateTime _lastSent = DateTime.MinValue;

    private readonly Lock _sendLock = new();
    private long _sequence;

    private sealed class PendingDelay(FlowMessage msg, CancellationTokenSource cts, long due, long seq)
    {
        public FlowMessage Msg { get; } = msg;

        /// <summary>When it is due (ticks) and its arrival number: timers that fire together still send in this order.</summary>
        public long Due { get; } = due;

        public long Seq { get; } = seq;

        public CancellationTokenSource Cts { get; } = cts;
    }

    private TimeSpan RateInterval => TimeUnits.Of(Math.Max(1, Config.NbRateUnits ?? 1), Config.RateUnits) / Math.Max(0.0001, Config.Rate ?? 1);

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        // Control messages are consumed, as Node-RED does.
        if (msg.Data.ContainsKey("flush"))
        {
            Flush(msg.Data["flush"]);
            return ValueTask.CompletedTask;
        }
        if (msg.Data.ContainsKey("reset"))
        {
            Reset();
            return ValueTask.CompletedTask;
        }
        switch (Config.PauseType)
        {
            case "delayv":
                Delay(msg, JsonTools.ToNumber(msg.Data["delay"]) is var ms && !double.IsNaN(ms) ? TimeSpan.FromMilliseconds(Math.Max(0, ms)) : Fixed());
                break;
            case "random":
                var lo = TimeUnits.Of(Config.RandomFirst ?? 1, Config.RandomUnits).TotalMilliseconds;
                var hi = TimeUnits.Of(Config.RandomLast ?? 5, Config.RandomUnits).TotalMilliseconds;
                Delay(msg, TimeSpan.FromMilliseconds(lo + (Random.Shared.NextDouble() * Math.Max(0, hi - lo))));
                break;
            case "rate":
                RateLimit(msg);
                break;
            case "queue":
            case "timed":
                ByTopic(msg);
                break;
            default:
                Delay(msg, Fixed());
                break;
        }
        return ValueTask.CompletedTask;
    }

    private TimeSpan Fixed() => TimeUnits.Of(Config.Timeout ?? 5, Config.TimeoutUnits);

    private void Delay(FlowMessage msg, TimeSpan delay)
    {
        Node.DeferDone();
        var cts = CancellationTokenSource.CreateLinkedTokenSource(Node.Closing);
        PendingDelay pending;
        lock (_lock)
        {
            pending = new PendingDelay(msg, cts, DateTime.UtcNow.Ticks + delay.Ticks, _sequence++);
            _pending.Add(pending);
        }
        UpdateStatus();
        _ = Task.Delay(delay, cts.Token).ContinueWith(t =>
        {
            if (t.IsCanceled)
            {
                return;
            }
            // Timer callbacks race on the thread pool; Node-RED's setTimeout keeps due order, so everything due by
            // now goes out in (due, arrival) order under one lock.
            lock (_sendLock)
            {
                List<PendingDelay> due;
                lock (_lock)
                {
                    due = _pending.Where(p => p.Due < pending.Due || (p.Due == pending.Due && p.Seq <= pending.Seq))
                        .OrderBy(p => p.Due).ThenBy(p => p.Seq).ToList();
                    foreach (var p in due)
                    {
                        _pending.Remove(p);
                    }
                }
                foreach (var p in due)
                {
                    p.Cts.Cancel();
                    Node.Send(p.Msg);
                    Node.Done(p.Msg);
                }
            }
            UpdateStatus();
        }, TaskScheduler.Default);
    }

    private void UpdateStatus()
    {
        int count;
        lock (_lock)
        {
            count = _pending.Count + _queue.Count + _byTopic.Count;
        }
        Node.Status(count > 0 ? new NodeStatus("blue", "dot", count.ToString(System.Globalization.CultureInfo.InvariantCulture)) : NodeStatus.Clear);
    }

    private void Reset()
    {
        lock (_lock)
        {
            foreach (var p in _pending)
            {
                p.Cts.Cancel();
            }
            _pending.Clear();
            _queue.Clear();
            _byTopic.Clear();
            _topicOrder.Clear();
        }
        UpdateStatus();
    }

    private void Flush(JsonNode? count)
    {
        var n = count is null || double.IsNaN(JsonTools.ToNumber(count)) ? int.MaxValue : (int)JsonTools.ToNumber(count);
        var out_ = new List<FlowMessage>();
        lock (_lock)
        {
            foreach (var p in _pending.Take(n).ToList())
            {
                p.Cts.Cancel();
                _pending.Remove(p);
                out_.Add(p.Msg);
            }
            while (out_.Count < n && _queue.First is { } first)
            {
                _queue.RemoveFirst();
                out_.Add(first.Value);
            }
            foreach (var topic in _topicOrder.ToList())
            {
                if (out_.Count >= n)
                {
                    break;
                }
                out_.Add(_byTopic[topic]);
                _byTopic.Remove(topic);
                _topicOrder.Remove(topic);
            }
        }
        foreach (var m in out_)
        {
            Node.Send(m);
        }
        UpdateStatus();
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _timer?.Dispose();
        Reset();
        return ValueTask.CompletedTask;
    }
}
