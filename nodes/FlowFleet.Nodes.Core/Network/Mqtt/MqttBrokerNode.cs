using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Protocol;

namespace FlowFleet.Nodes.Core.Network.Mqtt;

internal enum MqttState
{
    Disconnected,
    Connecting,
    Connected,
}

/// <summary>
/// Node-RED's <c>mqtt-broker</c> config node on MQTTnet 5: one connection shared by the <c>mqtt in</c>/<c>mqtt out</c> nodes
/// that use it, opened when the first of them registers (autoConnect), their subscriptions restored after every reconnect,
/// their status kept as connecting/connected/disconnected.
/// </summary>
[NodeType("mqtt-broker", Category = "config", Inputs = 0, Outputs = 0, LabelProperty = "broker",
    Help = """
    A connection to an MQTT broker (3.1, 3.1.1 or 5) shared by `mqtt in` and `mqtt out` nodes. `broker` is a host name, a
    `mqtt://`/`mqtts://` URL, or `flowfleet` for the server's embedded broker. User and password are credentials (stored
    encrypted). Birth, close and will messages; reconnects every 5 s (`Nodes:Mqtt:ReconnectTime`).
    """)]
public sealed partial class MqttBrokerNode(IOptions<CoreNodesOptions>? options = null, IMqttBrokerLocator? locator = null) : FlowNode<MqttBrokerConfig>
{
    private sealed class Subscription(string topic, MqttTopicFilterOptions filter, Func<MqttApplicationMessage, ValueTask> callback)
    {
        public string Topic { get; } = topic;

        public MqttTopicFilterOptions Filter { get; } = filter;

        public Func<MqttApplicationMessage, ValueTask> Callback { get; } = callback;
    }

    private readonly Lock _lock = new();
    private readonly JsonObject _settings = [];
    private readonly Dictionary<string, INodeHost> _users = new(StringComparer.Ordinal);
    // topic → node id → subscription, as Node-RED's node.subscriptions.
    private readonly Dictionary<string, Dictionary<string, Subscription>> _subscriptions = new(StringComparer.Ordinal);
    private readonly string _generatedId = "flowfleet" + MessageId.New();
    private IMqttClient? _client;
    private volatile MqttState _state;
    private bool _autoConnect = true;

    internal MqttState State => _state;

    /// <summary>True while connected (tests and status).</summary>
    public bool Connected => _state == MqttState.Connected;

    /// <summary>Node-RED adds <c>msg._topic</c> when the broker is localhost or 127.0.0.1.</summary>
    internal bool IsLocalhost => Setting("broker") is "localhost" or "127.0.0.1";

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        SetOptions(Node.Config, init: true);
        _autoConnect = !(Node.Config["autoConnect"] is JsonValue v && v.ToString() is "false" or "False");
        if (!Flag("cleansession", true) && string.IsNullOrEmpty(Setting("clientid")))
        {
            Node.Warn("No client ID set, using clean session");
        }
        return Task.CompletedTask;
    }

    internal void Register(INodeHost user)
    {
        bool first;
        lock (_lock)
        {
            _users[user.Id] = user;
            first = _users.Count == 1;
        }
        user.Status(StatusOf(_state));
        if (first && _autoConnect)
        {
            _ = ConnectAsync();
        }
    }

    internal async Task DeregisterAsync(INodeHost user, bool autoDisconnect)
    {
        bool last;
        lock (_lock)
        {
            _users.Remove(user.Id);
            last = _users.Count == 0;
        }
        if (autoDisconnect && last && _state == MqttState.Connected)
        {
            await DisconnectAsync().ConfigureAwait(false);
        }
    }

    internal bool CanConnect => _state == MqttState.Disconnected && _run is null;

    /// <summary>The connect action's <c>msg.broker</c>: new settings for the next connection.</summary>
    internal void Apply(JsonObject opts) => SetOptions(opts, init: false);

    private static NodeStatus StatusOf(MqttState state) => state switch
    {
        MqttState.Connected => new NodeStatus("green", "dot", "connected"),
        MqttState.Connecting => new NodeStatus("yellow", "ring", "connecting"),
        _ => new NodeStatus("red", "ring", "disconnected"),
    };

    private void SetState(MqttState state)
    {
        _state = state;
        List<INodeHost> users;
        lock (_lock)
        {
            users = [.. _users.Values];
        }
        var status = StatusOf(state);
        foreach (var u in users)
        {
            u.Status(status);
        }
    }

    /// <summary>Subscribes <paramref name="reference"/> (a node id) to a topic filter; replaces its earlier subscription to it.</summary>
    internal void Subscribe(string topic, MqttTopicFilterOptions filter, Func<MqttApplicationMessage, ValueTask> callback, string reference)
    {
        var sub = new Subscription(topic, filter, callback);
        IMqttClient? client;
        lock (_lock)
        {
            if (!_subscriptions.TryGetValue(topic, out var refs))
            {
                _subscriptions[topic] = refs = new Dictionary<string, Subscription>(StringComparer.Ordinal);
            }
            refs[reference] = sub;
            client = _client;
        }
        if (client is { IsConnected: true })
        {
            _ = SubscribeOnBrokerAsync(client, sub, CancellationToken.None);
        }
    }

    /// <summary>Removes a node's subscription; the broker subscription goes when nobody else uses the topic.</summary>
    internal void Unsubscribe(string topic, string reference, bool removeClientSubscription)
    {
        IMqttClient? client = null;
        lock (_lock)
        {
            if (!_subscriptions.TryGetValue(topic, out var refs))
            {
                return;
            }
            refs.Remove(reference);
            if (refs.Count == 0 && (removeClientSubscription || Flag("autoUnsubscribe", true)))
            {
                _subscriptions.Remove(topic);
                client = _client;
            }
        }
        if (client is { IsConnected: true })
        {
            _ = UnsubscribeOnBrokerAsync(client, topic);
        }
    }

    private async Task UnsubscribeOnBrokerAsync(IMqttClient client, string topic)
    {
        try
        {
            await client.UnsubscribeAsync(topic).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or ObjectDisposedException)
        {
        }
    }

    private async Task ResubscribeAsync(IMqttClient client, CancellationToken ct)
    {
        List<Subscription> all;
        lock (_lock)
        {
            all = [.. _subscriptions.Values.SelectMany(r => r.Values).DistinctBy(s => s.Topic)];
        }
        foreach (var s in all)
        {
            await SubscribeOnBrokerAsync(client, s, ct).ConfigureAwait(false);
        }
    }

    private async Task SubscribeOnBrokerAsync(IMqttClient client, Subscription s, CancellationToken ct)
    {
        var f = new MqttTopicFilterBuilder().WithTopic(s.Topic).WithQualityOfServiceLevel((MqttQualityOfServiceLevel)s.Filter.Qos);
        if (IsV5)
        {
            f.WithNoLocal(s.Filter.NoLocal).WithRetainAsPublished(s.Filter.RetainAsPublished).WithRetainHandling((MqttRetainHandling)s.Filter.RetainHandling);
        }
        try
        {
            var result = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(f.Build()).Build(), ct).ConfigureAwait(false);
            foreach (var item in result.Items.Where(i => (int)i.ResultCode > 2))
            {
                Node.Logger.LogWarning("mqtt-broker {Id}: subscription to {Topic} refused: {Code}", Node.Id, s.Topic, item.ResultCode);
            }
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
        {
            Node.Logger.LogWarning("mqtt-broker {Id}: could not subscribe to {Topic}: {Error}", Node.Id, s.Topic, ex.Message);
        }
    }

    // Awaits each subscriber's send: while a downstream queue is full MQTTnet's delivery waits here without holding a thread
    // (a blocking send would hold a pool thread per stalled message, and on a loaded machine the pool itself).
    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        List<Subscription>? matched = null;
        lock (_lock)
        {
            foreach (var (filter, refs) in _subscriptions)
            {
                if (MqttCodec.Matches(filter, topic))
                {
                    (matched ??= []).AddRange(refs.Values);
                }
            }
        }
        foreach (var s in matched ?? [])
        {
            try
            {
                await s.Callback(e.ApplicationMessage).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // One subscriber's failure must not stop delivery to the others (Node-RED logs it the same way).
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Node.Error("MQTT subscription handler error: " + ex.Message);
            }
        }
    }

    /// <summary>Node-RED's publish: dropped (false) while not connected; topic must be a valid publish topic.</summary>
    internal Task<bool> PublishAsync(MqttApplicationMessage message, CancellationToken ct)
    {
        var client = _client;
        if (client is null || !client.IsConnected || _state != MqttState.Connected)
        {
            return Task.FromResult(false);
        }
        return PublishCoreAsync(client, message, ct);
    }

    private static async Task<bool> PublishCoreAsync(IMqttClient client, MqttApplicationMessage message, CancellationToken ct)
    {
        var result = await client.PublishAsync(message, ct).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            throw new InvalidOperationException($"Publish to {message.Topic} refused: {result.ReasonCode} {result.ReasonString}".TrimEnd());
        }
        return true;
    }

    public override async ValueTask CloseAsync(bool removed) => await DisconnectAsync().ConfigureAwait(false);
}

/// <summary>A subscription's options: QoS, and for MQTT 5 no-local, retain-as-published, retain handling.</summary>
internal sealed record MqttTopicFilterOptions(int Qos, bool NoLocal = false, bool RetainAsPublished = false, int RetainHandling = 0);
