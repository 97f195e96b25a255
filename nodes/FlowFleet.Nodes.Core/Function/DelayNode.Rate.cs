using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>The rate modes: a queue released by an interval, dropping extras, and bursts.</summary>
public sealed partial class DelayNode
{
    // The rate queue; Done is null for an entry whose input was already reported done (Node-RED calls done() twice there).
    private readonly LinkedList<(FlowMessage Msg, FlowMessage? Done)> _buffer = new();

    // Node-RED's intervalID: null is -1, no interval running.
    private ITimer? _interval;
    private double? _rateOverride;
    private long? _lastSent;
    private readonly List<ITimer> _burstTimers = [];
    private int _inflight;

    /// <summary>Milliseconds between messages: the unit over the rate, times the number of units (Node-RED's node.rate).</summary>
    private double FixedRateMs =>
        TimeUnits.Of(1, RateUnit).TotalMilliseconds / (Config.Rate ?? 1) * (Config.NbRateUnits is > 0 ? Config.NbRateUnits.Value : 1);

    private string RateUnit => Config.RateUnits is "minute" or "hour" or "day" ? Config.RateUnits : "second";

    private double RateMs => _rateOverride ?? FixedRateMs;

    /// <summary><c>msg.rate</c> when the node allows it: a number, or text that starts with one.</summary>
    private double? AskedRate(FlowMessage msg) =>
        Config.AllowRate && msg.Data.ContainsKey("rate") && JsParseFloat(msg.Data["rate"]) is var r && !double.IsNaN(r) ? r : null;

    private void StartInterval(Action tick)
    {
        _interval?.Dispose();
        var every = Ms(RateMs);
        _interval = _time.CreateTimer(_ => tick(), null, every, every);
    }

    private void StopInterval()
    {
        _interval?.Dispose();
        _interval = null;
    }

    /// <summary>Node-RED's rate mode without drop, step by step (89-delay.js, <c>pauseType === "rate"</c>).</summary>
    private void RateQueue(FlowMessage msg)
    {
        var reset = msg.Data.ContainsKey("reset");
        var flush = msg.Data.ContainsKey("flush");
        Node.DeferDone();
        var doneOwned = false;
        lock (_lock)
        {
            var m = msg.Clone();
            m.Data.Remove("flush");
            if (NrKeys(m) > 1)
            {
                if (_interval is not null)
                {
                    if (AskedRate(m) is { } rate && rate != RateMs)
                    {
                        _rateOverride = rate;
                        StartInterval(SendFromBuffer);
                    }
                    // Node-RED tests `msg.toFront === true`: only the boolean counts.
                    if (msg.Data["toFront"] is JsonValue front && front.TryGetValue<bool>(out var isFront) && isFront)
                    {
                        _buffer.AddFirst((m, msg));
                    }
                    else
                    {
                        _buffer.AddLast((m, msg));
                    }
                    doneOwned = true;
                }
                else
                {
                    if (AskedRate(m) is { } rate)
                    {
                        _rateOverride = rate;
                    }
                    if (!reset)
                    {
                        Node.Send(m);
                    }
                    else if (flush)
                    {
                        _buffer.AddLast((m, null));
                    }
                    StartInterval(SendFromBuffer);
                }
            }
            if (flush)
            {
                var len = FlushCount(msg.Data["flush"]) is { } count ? Math.Min(count, _buffer.Count) : _buffer.Count;
                if (len <= 0)
                {
                    StopInterval();
                }
                else
                {
                    for (; len > 0; len--)
                    {
                        var (queued, done) = _buffer.First!.Value;
                        _buffer.RemoveFirst();
                        queued.Data.Remove("flush");
                        queued.Data.Remove("reset");
                        if (NrKeys(queued) > 1)
                        {
                            Node.Send(queued);
                        }
                        DoneWith(done);
                    }
                    StartInterval(SendFromBuffer);
                }
            }
            if (reset)
            {
                if (!flush)
                {
                    StopInterval();
                    _lastSent = null;
                }
                ClearBuffer();
                _rateOverride = null;
            }
            Status(_buffer.Count);
        }
        if (!doneOwned)
        {
            Node.Done(msg);
        }
    }

    /// <summary>Node-RED's sendMsgFromBuffer: one message per tick; the interval stops on a tick that finds the queue empty.</summary>
    private void SendFromBuffer()
    {
        lock (_lock)
        {
            if (_buffer.First is not { } first)
            {
                StopInterval();
                return;
            }
            _buffer.RemoveFirst();
            if (NrKeys(first.Value.Msg) > 1)
            {
                Node.Send(first.Value.Msg);
            }
            DoneWith(first.Value.Done);
            Status(_buffer.Count);
        }
    }

    /// <summary>Node-RED's rate mode with drop: a message passes when more than the interval went by since the last one passed.</summary>
    private void RateDrop(FlowMessage msg)
    {
        lock (_lock)
        {
            if (!msg.Data.ContainsKey("reset"))
            {
                if (AskedRate(msg) is { } rate)
                {
                    _rateOverride = rate;
                }
                if (_lastSent is not { } last || _time.GetElapsedTime(last).TotalMilliseconds > RateMs)
                {
                    _lastSent = _time.GetTimestamp();
                    Node.Send(msg);
                }
                else if (Config.Outputs == 2)
                {
                    Node.Send(1, msg);
                }
                return;
            }
            if (!msg.Data.ContainsKey("flush"))
            {
                StopInterval();
                _lastSent = null;
            }
            _rateOverride = null;
        }
    }

    /// <summary>
    /// Node-RED 5's burst mode (not in Node-RED 4): up to <c>rate</c> messages in flight, each for one interval from when it
    /// went out; extras go to output 2 or are dropped.
    /// </summary>
    private void Burst(FlowMessage msg)
    {
        lock (_lock)
        {
            if (msg.Data.ContainsKey("reset"))
            {
                CloseBurst();
                return;
            }
            if (_inflight < (Config.Rate ?? 0))
            {
                _inflight++;
                Node.Send(msg);
                ITimer? timer = null;
                timer = _time.CreateTimer(_ =>
                {
                    lock (_lock)
                    {
                        // A reset cleared it (and zeroed the count) after the callback started.
                        if (_burstTimers.Remove(timer!))
                        {
                            _inflight--;
                        }
                        timer!.Dispose();
                    }
                }, null, Ms(TimeUnits.Of(Config.NbRateUnits ?? 1, RateUnit).TotalMilliseconds), System.Threading.Timeout.InfiniteTimeSpan);
                _burstTimers.Add(timer);
            }
            else if (Config.Outputs == 2)
            {
                Node.Send(1, msg);
            }
        }
    }

    private void DoneWith(FlowMessage? msg)
    {
        if (msg is not null)
        {
            Node.Done(msg);
        }
    }

    private void ClearBuffer()
    {
        foreach (var (_, done) in _buffer)
        {
            DoneWith(done);
        }
        _buffer.Clear();
    }

    private void CloseBurst()
    {
        foreach (var t in _burstTimers)
        {
            t.Dispose();
        }
        _burstTimers.Clear();
        _inflight = 0;
    }

    private void CloseRate()
    {
        StopInterval();
        ClearBuffer();
        CloseBurst();
    }
}
