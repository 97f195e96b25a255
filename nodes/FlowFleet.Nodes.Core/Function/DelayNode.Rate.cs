using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Function;

public sealed partial class DelayNode
{
    private void RateLimit(FlowMessage msg)
    {
        var interval = RateInterval;
        var now = DateTime.UtcNow;
        lock (_lock)
        {
            if (_queue.Count == 0 && now - _lastSent >= interval)
            {
                _lastSent = now;
                Node.Send(msg);
                return;
            }
            if (Config.Drop)
            {
                if (Config.Outputs >= 2)
                {
                    Node.Send(1, msg);
                }
                return;
            }
            if (msg.Data.ContainsKey("toFront") && JsonTools.IsTruthy(msg.Data["toFront"]))
            {
                _queue.AddFirst(msg);
            }
            else
            {
                _queue.AddLast(msg);
            }
            _timer ??= new Timer(_ => ReleaseOne(), null, interval, interval);
        }
        UpdateStatus();
    }

    private void ReleaseOne()
    {
        FlowMessage? next = null;
        lock (_lock)
        {
            if (_queue.First is { } first)
            {
                _queue.RemoveFirst();
                next = first.Value;
                _lastSent = DateTime.UtcNow;
            }
            else
            {
                _timer?.Dispose();
                _timer = null;
            }
        }
        if (next is not null)
        {
            Node.Send(next);
            UpdateStatus();
        }
    }

    private void ByTopic(FlowMessage msg)
    {
        var topic = msg.Topic ?? "";
        lock (_lock)
        {
            if (!_byTopic.ContainsKey(topic))
            {
                _topicOrder.Add(topic);
            }
            else if (Config.Outputs >= 2 && Config.Drop)
            {
                Node.Send(1, _byTopic[topic]);
            }
            _byTopic[topic] = msg;
            _timer ??= new Timer(_ => ReleaseTopics(), null, RateInterval, RateInterval);
        }
        UpdateStatus();
    }

    private void ReleaseTopics()
    {
        var out_ = new List<FlowMessage>();
        lock (_lock)
        {
            if (Config.PauseType == "timed")
            {
                out_.AddRange(_topicOrder.Select(t => _byTopic[t]));
                _byTopic.Clear();
                _topicOrder.Clear();
            }
            else if (_topicOrder.Count > 0)
            {
                var topic = _topicOrder[0];
                _topicOrder.RemoveAt(0);
                out_.Add(_byTopic[topic]);
                _byTopic.Remove(topic);
            }
        }
        foreach (var m in out_)
        {
            Node.Send(m);
        }
        UpdateStatus();
    }
}

public sealed class DelayConfig
{
    [Runtime.Nodes.NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [Runtime.Nodes.NodeProperty(Default = "\"delay\"", UiHint = "select", Label = "Action",
        Options = ["delay:Fixed delay", "delayv:Override delay with msg.delay", "random:Random delay", "rate:Rate limit all messages", "queue:Rate limit per topic, one topic per interval", "timed:Rate limit per topic, all topics per interval"])]
    public string? PauseType { get; set; } = "delay";

    [Runtime.Nodes.NodeProperty(Default = "\"5\"", UiHint = "number", Label = "Delay")]
    public double? Timeout { get; set; } = 5;

    [Runtime.Nodes.NodeProperty(Default = "\"seconds\"", UiHint = "select", Options = ["milliseconds", "seconds", "minutes", "hours", "days"], Label = "Delay units")]
    public string? TimeoutUnits { get; set; } = "seconds";

    [Runtime.Nodes.NodeProperty(Default = "\"1\"", UiHint = "number", Label = "Rate")]
    public double? Rate { get; set; } = 1;

    [Runtime.Nodes.NodeProperty(Default = "\"1\"", UiHint = "number", Label = "Per")]
    public double? NbRateUnits { get; set; } = 1;

    [Runtime.Nodes.NodeProperty(Default = "\"second\"", UiHint = "select", Options = ["second", "minute", "hour", "day"], Label = "Rate units")]
    public string? RateUnits { get; set; } = "second";

    [Runtime.Nodes.NodeProperty(Default = "\"1\"", UiHint = "number", Label = "Random from")]
    public double? RandomFirst { get; set; } = 1;

    [Runtime.Nodes.NodeProperty(Default = "\"5\"", UiHint = "number", Label = "Random to")]
    public double? RandomLast { get; set; } = 5;

    [Runtime.Nodes.NodeProperty(Default = "\"seconds\"", UiHint = "select", Options = ["milliseconds", "seconds", "minutes", "hours", "days"], Label = "Random units")]
    public string? RandomUnits { get; set; } = "seconds";

    [Runtime.Nodes.NodeProperty(Default = "false", UiHint = "checkbox", Label = "Drop intermediate messages")]
    public bool Drop { get; set; }

    [Runtime.Nodes.NodeProperty(Default = "1", UiHint = "hidden")]
    public int Outputs { get; set; } = 1;
}
