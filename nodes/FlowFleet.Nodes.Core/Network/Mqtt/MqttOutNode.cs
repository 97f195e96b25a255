using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network.Mqtt;

/// <summary>
/// Node-RED's <c>mqtt out</c>: publishes <c>msg.payload</c> to the node's topic (or <c>msg.topic</c>) with its QoS/retain (or
/// the msg's), and with MQTT 5 the node's or msg's properties. Up to <see cref="Window"/> publishes are in flight at once
/// (QoS 1/2 wait for the broker's acknowledgement), each message completing when its publish does.
/// </summary>
[NodeType("mqtt out", Category = "network", Outputs = 0, Color = "#d8bfd8", Icon = "bridge", Align = "right", LabelProperty = "topic",
    Help = """
    Publishes `msg.payload` (buffers as bytes, objects as JSON, anything else as text) to `topic` or `msg.topic`, with `qos`
    and `retain` from the node or the message. MQTT 5: `respTopic`, `correl`, `contentType`, `expiry`, `userProps` (or
    `msg.responseTopic`, `msg.correlationData`, `msg.contentType`, `msg.messageExpiryInterval`, `msg.userProperties`).
    `msg.action` `connect` (optional `msg.broker`) and `disconnect` control the connection.
    """)]
public sealed class MqttOutNode : FlowNode<MqttOutConfig>
{
    internal const int Window = 64;
    private readonly SemaphoreSlim _window = new(Window, Window);
    private MqttBrokerNode? _broker;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(Config.Broker) || Node.FindNode(Config.Broker) is not MqttBrokerNode broker)
        {
            throw new InvalidOperationException("missing broker configuration");
        }
        _broker = broker;
        broker.Register(Node);
        return Task.CompletedTask;
    }

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var broker = _broker ?? throw new InvalidOperationException("missing broker configuration");
        var data = msg.Data;
        if (data["action"] is { } action)
        {
            if (!await MqttActions.TryConnectionActionAsync(broker, JsonTools.Text(action), msg).ConfigureAwait(false))
            {
                throw new InvalidOperationException(MqttActions.InvalidAction);
            }
            return;
        }
        // doPublish: the node's settings win over the message's.
        if (!string.IsNullOrEmpty(Config.Topic))
        {
            data["topic"] = Config.Topic;
        }
        var qos = MqttCodec.Int(Config.Qos) is >= 0 and <= 2 and var nq ? (int)nq
            : MqttCodec.Int(data["qos"]) is >= 0 and <= 2 and var mq ? (int)mq : 0;
        var retain = MqttCodec.Truthy(Config.Retain) || MqttCodec.Truthy(data["retain"]);
        data["qos"] = qos;
        data["retain"] = retain;
        if (broker.IsV5)
        {
            if (MqttCodec.UserProperties(Config.UserProps).ToList() is { Count: > 0 } props)
            {
                data["userProperties"] = new JsonObject(props.Select(p => KeyValuePair.Create(p.Name, (JsonNode?)p.Value)));
            }
            SetIf(data, "responseTopic", Config.RespTopic);
            SetIf(data, "correlationData", Config.Correl);
            SetIf(data, "contentType", Config.ContentType);
            if (MqttCodec.Int(Config.Expiry) is > 0 and var expiry)
            {
                data["messageExpiryInterval"] = expiry;
            }
        }
        if (!data.ContainsKey("payload"))
        {
            return;
        }
        var topic = JsonTools.Text(data["topic"]);
        if (broker.IsV5 && string.IsNullOrEmpty(topic) && JsonTools.Text(data["responseTopic"]) is { Length: > 0 } reply)
        {
            // A reply to a v5 request: no topic, the request's response topic.
            topic = reply;
            data.Remove("responseTopic");
        }
        if (!MqttCodec.IsValidPublishTopic(topic))
        {
            Node.Warn(MqttCodec.InvalidTopic);
            return;
        }
        var message = MqttCodec.ToPublish(data, topic!, qos, retain, broker.IsV5);
        await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
        var publish = broker.PublishAsync(message, Node.Closing);
        if (publish.IsCompleted)
        {
            _window.Release();
            await publish.ConfigureAwait(false);
            return;
        }
        // Acknowledgements arrive while later messages are already on their way: done() when this one's arrives.
        Node.DeferDone();
        _ = CompleteAsync(publish, msg);
    }

    private async Task CompleteAsync(Task<bool> publish, FlowMessage msg)
    {
        try
        {
            await publish.ConfigureAwait(false);
            Node.Done(msg);
        }
        catch (Exception ex) when (ex is InvalidOperationException or MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or ObjectDisposedException)
        {
            Node.Error(ex.Message, msg);
        }
        finally
        {
            _window.Release();
        }
    }

    private static void SetIf(JsonObject data, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            data[name] = value;
        }
    }

    public override async ValueTask CloseAsync(bool removed)
    {
        if (_broker is { } broker)
        {
            await broker.DeregisterAsync(Node, removed).ConfigureAwait(false);
        }
    }
}

public sealed class MqttOutConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Topic")]
    public string? Topic { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Select, Options = [":(from msg)", "0", "1", "2"], Label = "QoS")]
    public JsonNode? Qos { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Select, Options = [":(from msg)", "false", "true"], Label = "Retain")]
    public JsonNode? Retain { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Response topic (v5)")]
    public string? RespTopic { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Content type (v5)")]
    public string? ContentType { get; set; }

    [NodeProperty(Default = "\"\"", Label = "User properties (v5, JSON)")]
    public JsonNode? UserProps { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Correlation data (v5)")]
    public string? Correl { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "Message expiry (s, v5)")]
    public JsonNode? Expiry { get; set; }

    [NodeProperty(UiHint = PropertyUi.Config, ConfigType = "mqtt-broker", Required = true, Label = "Server")]
    public string? Broker { get; set; }
}
