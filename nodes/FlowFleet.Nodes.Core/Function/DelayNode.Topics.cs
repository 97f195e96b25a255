using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>The per-topic modes: the latest message of each topic, released on an interval that runs from the start.</summary>
public sealed partial class DelayNode
{
    // Node-RED's buffer of {msg, done}: one entry per topic, replaced in place by a newer message of that topic.
    private readonly List<FlowMessage> _topics = [];
    private ITimer? _topicInterval;

    private void StartTopicInterval()
    {
        lock (_lock)
        {
            _topicInterval?.Dispose();
            var every = Ms(RateMs);
            _topicInterval = _time.CreateTimer(_ => TopicTick(), null, every, every);
        }
    }

    /// <summary>A tick: <c>queue</c> sends the oldest topic's message, <c>timed</c> every topic's.</summary>
    private void TopicTick()
    {
        lock (_lock)
        {
            do
            {
                if (_topics.Count == 0)
                {
                    break;
                }
                var next = _topics[0];
                _topics.RemoveAt(0);
                Node.Send(next);
                Node.Done(next);
            }
            while (Config.PauseType == "timed");
            Status(_topics.Count);
        }
    }

    /// <summary>Node-RED's input handler of the topic modes: control messages take a place in the queue too.</summary>
    private void ByTopic(FlowMessage msg)
    {
        Node.DeferDone();
        lock (_lock)
        {
            if (AskedRate(msg) is { } rate && rate != RateMs)
            {
                _rateOverride = rate;
                StartTopicInterval();
            }
            if (!msg.Data.ContainsKey("topic"))
            {
                msg.Data["topic"] = "_none_";
            }
            var same = _topics.FindIndex(m => SameTopic(m.Data["topic"], msg.Data["topic"]));
            if (same >= 0)
            {
                var replaced = _topics[same];
                if (Config.Outputs == 2)
                {
                    Node.Send(1, replaced);
                }
                Node.Done(replaced);
                _topics[same] = msg;
            }
            else
            {
                _topics.Add(msg);
            }
            if (msg.Data.ContainsKey("flush"))
            {
                // Node-RED takes a number as the count without capping it at the queue's length (Math.min of one
                // argument), then fails reading past the end: what was there is sent, and the error is the node's.
                var len = FlushCount(msg.Data["flush"]) ?? _topics.Count;
                for (; len > 0; len--)
                {
                    if (_topics.Count == 0)
                    {
                        Status(0);
                        Node.Error("TypeError: Cannot read properties of undefined (reading 'msg')", msg);
                        return;
                    }
                    var queued = _topics[0];
                    _topics.RemoveAt(0);
                    queued.Data.Remove("flush");
                    queued.Data.Remove("reset");
                    if (NrKeys(queued) > 2)
                    {
                        Node.Send(queued);
                    }
                    Node.Done(queued);
                }
            }
            if (msg.Data.ContainsKey("reset"))
            {
                CloseTopics();
                if (_rateOverride is not null)
                {
                    _rateOverride = null;
                }
            }
            Status(_topics.Count);
        }
    }

    /// <summary>JavaScript's <c>===</c> between two topics: equal primitives; never two objects.</summary>
    private static bool SameTopic(JsonNode? a, JsonNode? b) =>
        (a is null && b is null) || (a is JsonValue && b is JsonValue && JsonTools.DeepEquals(a, b));

    private void CloseTopics()
    {
        foreach (var m in _topics)
        {
            Node.Done(m);
        }
        _topics.Clear();
    }

    private void CloseTopicInterval()
    {
        _topicInterval?.Dispose();
        _topicInterval = null;
    }
}
