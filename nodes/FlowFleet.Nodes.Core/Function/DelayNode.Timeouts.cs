using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>The delay, delayv and random modes: one timer per message (Node-RED's <c>idList</c> of <c>ourTimeout</c>s).</summary>
public sealed partial class DelayNode
{
    // Pending messages in arrival order: flush sends from the front, as Node-RED's idList[0].trigger() does.
    private readonly List<Pending> _pending = [];
    private long _sequence;

    private sealed class Pending(FlowMessage msg, long due, long seq)
    {
        public FlowMessage Msg { get; } = msg;

        /// <summary>When it is due (the clock's ticks) and its arrival number: timers that fire together still send in this order.</summary>
        public long Due { get; } = due;

        public long Seq { get; } = seq;

        public ITimer? Timer { get; set; }
    }

    /// <summary>
    /// Node-RED's input handler of the timeout modes. Every message is delayed, control messages too, unless it is nothing
    /// but <c>{flush}</c>; then <c>reset</c> clears every pending message (this one included) and <c>flush</c> sends them
    /// now — this one last, so an example's "flush" button with a topic sends its own message on.
    /// In the fixed delay mode a reset wins over a flush in the same message (Node-RED's <c>else if</c>).
    /// </summary>
    private void Timeout(FlowMessage msg, double ms, bool resetWins)
    {
        var reset = msg.Data.ContainsKey("reset");
        var flush = msg.Data.ContainsKey("flush");
        var bareFlush = flush && NrKeys(msg) == 2;
        if (!bareFlush)
        {
            Node.DeferDone();
        }
        lock (_lock)
        {
            if (!bareFlush)
            {
                var delay = Ms(ms);
                var pending = new Pending(msg, _time.GetUtcNow().UtcTicks + delay.Ticks, _sequence++);
                _pending.Add(pending);
                pending.Timer = _time.CreateTimer(_ => Fire(pending), null, delay, System.Threading.Timeout.InfiniteTimeSpan);
            }
            if (reset)
            {
                ClearTimeouts();
            }
            if (flush && !(reset && resetWins))
            {
                var n = FlushCount(msg.Data["flush"]) is { } count ? Math.Clamp(count, 0, _pending.Count) : _pending.Count;
                foreach (var p in _pending.Take(n).ToList())
                {
                    SendPending(p);
                }
            }
            Status(_pending.Count);
        }
    }

    private void Fire(Pending pending)
    {
        lock (_lock)
        {
            if (!_pending.Contains(pending))
            {
                return; // Flushed or reset while its timer was starting.
            }
            // Real timers race on the thread pool; Node-RED's setTimeout keeps due order, so everything due by this one
            // goes out in (due, arrival) order.
            var due = _pending.Where(p => p.Due < pending.Due || (p.Due == pending.Due && p.Seq <= pending.Seq))
                .OrderBy(p => p.Due).ThenBy(p => p.Seq).ToList();
            foreach (var p in due)
            {
                SendPending(p);
            }
            Status(_pending.Count);
        }
    }

    private void SendPending(Pending p)
    {
        _pending.Remove(p);
        p.Timer?.Dispose();
        Node.Send(p.Msg);
        Node.Done(p.Msg);
    }

    /// <summary>Node-RED's clearDelayList: pending messages are dropped, and each is done (complete nodes hear of it).</summary>
    private void ClearTimeouts()
    {
        foreach (var p in _pending)
        {
            p.Timer?.Dispose();
            Node.Done(p.Msg);
        }
        _pending.Clear();
    }
}
