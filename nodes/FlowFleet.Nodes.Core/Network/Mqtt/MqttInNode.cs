using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using MQTTnet;

namespace FlowFleet.Nodes.Core.Network.Mqtt;

/// <summary>Node-RED's <c>mqtt in</c>: a fixed subscription, or (with an input) dynamic ones driven by <c>msg.action</c>.</summary>
[NodeType("mqtt in", Category = "network", Inputs = 0, Color = "#d8bfd8", Icon = "bridge", LabelProperty = "topic",
    Help = """
    Subscribes to `topic` (wildcards `+` and `#`) with `qos` and sends each message: `msg.topic`, `msg.payload` (per
    `datatype`: `auto-detect` parses JSON, `auto` gives a string or a buffer, `utf8`, `buffer`, `base64`, `json`), `msg.qos`,
    `msg.retain`, and with MQTT 5 `responseTopic`, `correlationData`, `contentType`, `userProperties`, `messageExpiryInterval`.
    With `inputs: 1` (dynamic) it takes `msg.action`: `subscribe`/`unsubscribe` (`msg.topic`: a topic, an object
    `{topic, qos, rh, rap, nl, datatype}` or an array of them; `true` unsubscribes all), `getSubscriptions`, `connect`
    (optional `msg.broker` settings, `force`), `disconnect`.
    """)]
public sealed class MqttInNode : FlowNode<MqttInConfig>
{
    private MqttBrokerNode? _broker;
    private int _qos;
    private readonly Dictionary<string, JsonObject> _dynamic = new(StringComparer.Ordinal);

    private bool IsDynamic => MqttCodec.Int(Config.Inputs) == 1;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(Config.Broker) || Node.FindNode(Config.Broker) is not MqttBrokerNode broker)
        {
            throw new InvalidOperationException("missing broker configuration");
        }
        _qos = MqttCodec.Int(Config.Qos) is >= 0 and <= 2 and var q ? (int)q : 2;
        if (!IsDynamic && !MqttCodec.IsValidSubscriptionTopic(Config.Topic))
        {
            Node.Warn(MqttCodec.InvalidTopic);
            return Task.CompletedTask;
        }
        _broker = broker;
        if (string.IsNullOrEmpty(Config.Topic) && !IsDynamic)
        {
            Node.Error("topic not defined");
            return Task.CompletedTask;
        }
        broker.Register(Node);
        if (!IsDynamic)
        {
            var filter = new MqttTopicFilterOptions(_qos, MqttCodec.Truthy(Config.Nl), Config.Rap is null || MqttCodec.Truthy(Config.Rap), (int)Math.Clamp(MqttCodec.Int(Config.Rh) ?? 0, 0, 2));
            var datatype = Datatype(null);
            broker.Subscribe(Config.Topic!, filter, m => Handle(m, datatype), Node.Id);
        }
        return Task.CompletedTask;
    }

    private string Datatype(string? own) => own is { Length: > 0 } ? own : Config.Datatype is { Length: > 0 } d ? d : "utf8";

    private ValueTask Handle(MqttApplicationMessage m, string datatype)
    {
        var (msg, error) = MqttCodec.ToMessage(m, datatype, _broker!.IsV5);
        if (error is not null)
        {
            Node.Error(error, new FlowMessage(msg));
            return ValueTask.CompletedTask;
        }
        if (_broker.IsLocalhost)
        {
            msg["_topic"] = m.Topic;
        }
        msg["_msgid"] = MessageId.New();
        return Node.SendAsync(new FlowMessage(msg));
    }

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var broker = _broker ?? throw new InvalidOperationException("missing broker configuration");
        var action = JsonTools.Text(msg.Data["action"]);
        if (await MqttActions.TryConnectionActionAsync(broker, action, msg).ConfigureAwait(false))
        {
            return;
        }
        switch (action)
        {
            case "getSubscriptions":
                msg.Data["topic"] = "subscriptions";
                msg.Data["payload"] = Subscriptions();
                Node.Send(msg);
                return;
            case "subscribe" or "unsubscribe":
                break;
            default:
                throw new InvalidOperationException(MqttActions.InvalidAction);
        }
        var topic = msg.Data["topic"];
        List<JsonNode?> items = action == "unsubscribe" && topic is JsonValue all && all.ToString() == "true"
            ? [.. _dynamic.Values.Select(v => (JsonNode?)v.DeepClone())]
            : topic is JsonArray arr ? [.. arr]
            : topic is JsonObject || JsonTools.Text(topic) is not null ? [topic]
            : throw new InvalidOperationException("msg.topic is missing or invalid");
        var subs = new List<JsonObject>();
        foreach (var item in items)
        {
            var sub = JsonTools.Text(item) is { } t ? new JsonObject { ["topic"] = t } : item as JsonObject;
            if (sub is null || JsonTools.Text(sub["topic"]) is not { Length: > 0 } st || !MqttCodec.IsValidSubscriptionTopic(st))
            {
                throw new InvalidOperationException(MqttCodec.InvalidTopic);
            }
            subs.Add((JsonObject)sub.DeepClone());
        }
        foreach (var sub in subs)
        {
            var t = JsonTools.Text(sub["topic"])!;
            if (action == "unsubscribe" || _dynamic.ContainsKey(t))
            {
                broker.Unsubscribe(t, Node.Id, true);
                _dynamic.Remove(t);
            }
            if (action == "subscribe")
            {
                // Node-RED's defaults for a dynamic subscription: qos 2, rh 0, rap true.
                var qos = MqttCodec.Int(sub["qos"]) is >= 0 and <= 2 and var q ? (int)q : 2;
                sub["qos"] = qos;
                var rh = 0;
                var rap = true;
                if (broker.IsV5)
                {
                    rh = MqttCodec.Int(sub["rh"]) is >= 0 and <= 2 and var r ? (int)r : 0;
                    rap = sub["rap"] is null || MqttCodec.Truthy(sub["rap"]);
                    (sub["rh"], sub["rap"]) = (rh, rap);
                    if (sub["nl"] is not null)
                    {
                        sub["nl"] = MqttCodec.Truthy(sub["nl"]);
                    }
                }
                var datatype = Datatype(JsonTools.Text(sub["datatype"]));
                broker.Subscribe(t, new MqttTopicFilterOptions(qos, MqttCodec.Truthy(sub["nl"]), rap, rh), m => Handle(m, datatype), Node.Id);
                _dynamic[t] = sub;
            }
        }
        msg.Data["subscriptions"] = Subscriptions();
    }

    private JsonArray Subscriptions() => [.. _dynamic.Values.Select(v => (JsonNode?)v.DeepClone())];

    public override async ValueTask CloseAsync(bool removed)
    {
        if (_broker is not { } broker)
        {
            return;
        }
        if (IsDynamic)
        {
            foreach (var t in _dynamic.Keys)
            {
                broker.Unsubscribe(t, Node.Id, removed);
            }
            _dynamic.Clear();
        }
        else if (Config.Topic is { } topic)
        {
            broker.Unsubscribe(topic, Node.Id, removed);
        }
        await broker.DeregisterAsync(Node, removed).ConfigureAwait(false);
    }
}

/// <summary>The connection actions shared by <c>mqtt in</c> and <c>mqtt out</c> (Node-RED's handleConnectAction/handleDisconnectAction).</summary>
internal static class MqttActions
{
    public const string InvalidAction = "Invalid action specified";

    /// <summary>Runs <c>connect</c> or <c>disconnect</c>; false for any other action (the node's own or invalid).</summary>
    public static async Task<bool> TryConnectionActionAsync(MqttBrokerNode broker, string? action, FlowMessage msg)
    {
        switch (action)
        {
            case "connect":
                await ConnectAsync(broker, msg).ConfigureAwait(false);
                return true;
            case "disconnect":
                await broker.DisconnectAsync().ConfigureAwait(false);
                return true;
            default:
                return false;
        }
    }

    private static async Task ConnectAsync(MqttBrokerNode broker, FlowMessage msg)
    {
        var data = msg.Data["broker"] as JsonObject;
        if (broker.CanConnect)
        {
            if (data is not null)
            {
                broker.Apply(data);
            }
            await broker.ConnectAsync().ConfigureAwait(false);
        }
        else if (data is null)
        {
            return;
        }
        else if (MqttCodec.Truthy(data["force"]))
        {
            await broker.DisconnectAsync().ConfigureAwait(false);
            broker.Apply(data);
            await broker.ConnectAsync().ConfigureAwait(false);
        }
        else
        {
            throw new InvalidOperationException("Disconnect from broker before connecting");
        }
    }
}

public sealed class MqttInConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Topic")]
    public string? Topic { get; set; }

    [NodeProperty(Default = "\"2\"", UiHint = PropertyUi.Select, Options = ["0", "1", "2"], Label = "QoS")]
    public JsonNode? Qos { get; set; }

    [NodeProperty(Default = "\"auto-detect\"", Required = true, UiHint = PropertyUi.Select,
        Options = ["auto-detect:auto-detect (parsed JSON object, string or buffer)", "auto:auto-detect (string or buffer)", "buffer:a Buffer", "utf8:a String", "json:a parsed JSON object", "base64:a Base64 encoded string"],
        Label = "Output")]
    public string? Datatype { get; set; }

    [NodeProperty(UiHint = PropertyUi.Config, ConfigType = "mqtt-broker", Required = true, Label = "Server")]
    public string? Broker { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "No local (v5)")]
    public JsonNode? Nl { get; set; }

    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "Retain as published (v5)")]
    public JsonNode? Rap { get; set; }

    [NodeProperty(Default = "0", UiHint = PropertyUi.Select, Options = ["0:send retained messages", "1:only for new subscriptions", "2:do not send"], Label = "Retain handling (v5)")]
    public JsonNode? Rh { get; set; }

    [NodeProperty(Default = "0", UiHint = PropertyUi.Select, Options = ["0:single subscription", "1:dynamic subscription"], Label = "Action")]
    public JsonNode? Inputs { get; set; }
}
