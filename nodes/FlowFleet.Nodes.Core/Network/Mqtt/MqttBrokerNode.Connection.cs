using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace FlowFleet.Nodes.Core.Network.Mqtt;

/// <summary>The connection side of <c>mqtt-broker</c>: options from the settings, connect, reconnect every
/// <c>Nodes:Mqtt:ReconnectTime</c> ms (Node-RED's mqttReconnectTime), birth and close messages.</summary>
public sealed partial class MqttBrokerNode
{
    /// <summary>A birth, close or will message: <see cref="Msg"/> is shaped like a flow msg (payload, v5 properties).</summary>
    private sealed record LwtMessage(string Topic, JsonObject Msg, int Qos, bool Retain);

    private LwtMessage? _birth;
    private LwtMessage? _close;
    private LwtMessage? _will;
    private CancellationTokenSource? _run;
    private Task _loop = Task.CompletedTask;
    private TaskCompletionSource? _firstConnect;

    private string? Setting(string name) => _settings[name] is JsonValue v ? JsonTools.ToJsString(v) : null;

    private bool Flag(string name, bool fallback) => _settings[name] is JsonValue v ? v.ToString() is "true" or "True" : fallback;

    /// <summary>Node-RED's setOptions: init reads the node's own fields; later calls (the connect action) read <c>msg.broker</c>.</summary>
    private void SetOptions(JsonObject opts, bool init)
    {
        foreach (var key in new[] { "url", "broker", "port", "clientid", "autoConnect", "usetls", "verifyservercert", "compatmode", "protocolVersion", "keepalive", "cleansession", "autoUnsubscribe", "userProps", "sessionExpiry", "username", "password" })
        {
            if (opts.ContainsKey(key))
            {
                _settings[key] = opts[key]?.DeepClone();
            }
        }
        if (init)
        {
            _birth = Lwt(opts, "birth");
            _close = Lwt(opts, "close");
            _will = Lwt(opts, "will");
            if (opts["credentials"] is JsonObject creds)
            {
                _settings["username"] = creds["user"]?.DeepClone();
                _settings["password"] = creds["password"]?.DeepClone();
            }
            return;
        }
        Replace(opts, "birth", ref _birth);
        Replace(opts, "close", ref _close);
        Replace(opts, "will", ref _will);
    }

    /// <summary>The node's own fields for one of birth/close/will: <c>birthTopic</c>, <c>birthPayload</c>, … <c>birthMsg</c>.</summary>
    private static LwtMessage? Lwt(JsonObject opts, string kind) =>
        Lwt(opts[kind + "Topic"], opts[kind + "Payload"], opts[kind + "Qos"], opts[kind + "Retain"], opts[kind + "Msg"]);

    /// <summary>The connect action's <c>msg.broker.birth</c> (or close/will): an object replaces it, null removes it.</summary>
    private static void Replace(JsonObject opts, string kind, ref LwtMessage? lwt)
    {
        if (opts.ContainsKey(kind))
        {
            lwt = opts[kind] is JsonObject o ? Lwt(o["topic"], o["payload"], o["qos"], o["retain"], o["properties"]) : null;
        }
    }

    /// <summary>
    /// The message (payload and v5 properties under the msg names <see cref="MqttCodec.ToPublish"/> reads), with the v5
    /// properties' form names (<c>respTopic</c>, <c>correl</c>, <c>expiry</c>, <c>userProps</c>) mapped once here.
    /// </summary>
    private static LwtMessage? Lwt(JsonNode? topic, JsonNode? payload, JsonNode? qos, JsonNode? retain, JsonNode? props)
    {
        if (JsonTools.Text(topic) is not { Length: > 0 } t)
        {
            return null;
        }
        var msg = new JsonObject { ["payload"] = payload?.DeepClone() ?? "" };
        if (props is JsonObject p)
        {
            msg["contentType"] = p["contentType"]?.DeepClone();
            msg["responseTopic"] = (p["respTopic"] ?? p["responseTopic"])?.DeepClone();
            msg["correlationData"] = (p["correl"] ?? p["correlationData"])?.DeepClone();
            msg["messageExpiryInterval"] = (p["expiry"] ?? p["messageExpiryInterval"])?.DeepClone();
            msg["userProperties"] = (p["userProps"] ?? p["userProperties"])?.DeepClone();
            msg["willDelayInterval"] = (p["delay"] ?? p["willDelayInterval"])?.DeepClone();
        }
        return new LwtMessage(t, msg, Math.Clamp((int)(MqttCodec.Int(qos) ?? 0), 0, 2), MqttCodec.Truthy(retain));
    }

    internal bool IsV5 => Setting("protocolVersion") == "5";

    /// <summary>The broker's URL as Node-RED logs it (mqtt://host:port).</summary>
    internal string BrokerUrl
    {
        get
        {
            var (host, port, tls) = Endpoint();
            return $"{(tls ? "mqtts" : "mqtt")}://{host}:{port}";
        }
    }

    private (string Host, int Port, bool Tls) Endpoint()
    {
        var broker = Setting("url") is { Length: > 0 } url ? url : Setting("broker") ?? "";
        var tls = Flag("usetls", false);
        var port = (int)(MqttCodec.Int(_settings["port"]) is > 0 and var p ? p : 1883);
        if (broker.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(broker, UriKind.Absolute, out var uri))
        {
            tls = uri.Scheme is "mqtts" or "ssl" or "tls" or "wss";
            return (uri.Host, uri.Port > 0 ? uri.Port : tls ? 8883 : 1883, tls);
        }
        if (locator?.Find(broker) is { } embedded)
        {
            return (embedded.Host, embedded.Port, false);
        }
        return (broker.Length == 0 ? "localhost" : broker.Trim('[', ']'), port, tls);
    }

    private MqttClientOptions BuildOptions()
    {
        var (host, port, tls) = Endpoint();
        var version = Flag("compatmode", false) || Setting("protocolVersion") == "3" ? MqttProtocolVersion.V310
            : IsV5 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311;
        var clientId = Setting("clientid") is { Length: > 0 } id ? id : _generatedId;
        var clean = Flag("cleansession", true) || string.IsNullOrEmpty(Setting("clientid"));
        var b = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithProtocolVersion(version).WithClientId(clientId)
            .WithCleanSession(clean).WithTimeout(TimeSpan.FromSeconds(10))
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(MqttCodec.Int(_settings["keepalive"]) is >= 0 and var k ? k : 60));
        var user = Setting("username");
        var password = Setting("password");
        if (locator?.Find(Setting("broker") ?? "") is { } embedded && string.IsNullOrEmpty(user))
        {
            (user, password) = (embedded.UserName, embedded.Password);
        }
        if (!string.IsNullOrEmpty(user))
        {
            b.WithCredentials(user, password ?? "");
        }
        if (tls)
        {
            AddTls(b, host);
        }
        if (version == MqttProtocolVersion.V500)
        {
            b.WithRequestResponseInformation(true).WithRequestProblemInformation(true);
            foreach (var (name, value) in MqttCodec.UserProperties(_settings["userProps"]))
            {
                b.WithUserProperty(name, new ReadOnlyMemory<byte>(System.Text.Encoding.UTF8.GetBytes(value)));
            }
            if (MqttCodec.Int(_settings["sessionExpiry"]) is > 0 and var expiry)
            {
                b.WithSessionExpiryInterval((uint)expiry);
            }
        }
        if (_will is { } will)
        {
            var w = will.Msg;
            b.WithWillTopic(will.Topic).WithWillPayload(MqttCodec.PayloadBytes(w["payload"])).WithWillQualityOfServiceLevel((MqttQualityOfServiceLevel)will.Qos).WithWillRetain(will.Retain);
            if (version == MqttProtocolVersion.V500)
            {
                if (JsonTools.Text(w["contentType"]) is { Length: > 0 } ct)
                {
                    b.WithWillContentType(ct);
                }
                if (JsonTools.Text(w["responseTopic"]) is { Length: > 0 } rt)
                {
                    b.WithWillResponseTopic(rt);
                }
                if (MqttCodec.ToBytes(w["correlationData"]) is { } correl)
                {
                    b.WithWillCorrelationData(correl);
                }
                if (MqttCodec.Int(w["messageExpiryInterval"]) is >= 0 and var ex)
                {
                    b.WithWillMessageExpiryInterval((uint)ex);
                }
                if (MqttCodec.Int(w["willDelayInterval"]) is >= 0 and var delay)
                {
                    b.WithWillDelayInterval((uint)delay);
                }
                foreach (var (name, value) in MqttCodec.UserProperties(w["userProperties"]))
                {
                    b.WithWillUserProperty(name, new ReadOnlyMemory<byte>(System.Text.Encoding.UTF8.GetBytes(value)));
                }
            }
        }
        return WithSocketBuffers(b.Build());
    }

    /// <summary>The socket buffer size of a broker connection (SO_RCVBUF/SO_SNDBUF; the kernel caps it at rmem_max/wmem_max).</summary>
    internal const int SocketBufferSize = 1 << 20;

    /// <summary>
    /// MQTTnet sets SO_RCVBUF/SO_SNDBUF to its 8 KiB default, which turns off the kernel's buffer autotuning. On loopback
    /// (MSS 64 KiB) a window that small is never reopened by a window update once the reader fell behind: the broker then
    /// waits for its zero-window probes, backing off exponentially — the 13–36 s pauses of bench/server/mqtt-throughput.sh.
    /// Elsewhere it caps a connection at 8 KiB per round trip. Node-RED's mqtt.js leaves the kernel's sizes alone.
    /// </summary>
    internal static MqttClientOptions WithSocketBuffers(MqttClientOptions options)
    {
        if (options.ChannelOptions is MqttClientTcpOptions tcp)
        {
            tcp.BufferSize = SocketBufferSize;
        }
        return options;
    }

    /// <summary>Starts connecting (and reconnecting) unless already connected or connecting; completes once connected or stopped.</summary>
    internal Task ConnectAsync()
    {
        lock (_lock)
        {
            if (_run is not null)
            {
                return _firstConnect?.Task ?? Task.CompletedTask;
            }
            _run = new CancellationTokenSource();
            _firstConnect = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var token = _run.Token;
            _loop = Task.Run(() => RunAsync(token));
            return _firstConnect.Task;
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var reconnect = TimeSpan.FromMilliseconds(Math.Max(10, options?.Value.Mqtt.ReconnectTime ?? 5000));
        var failedLogged = false;
        while (!stop.IsCancellationRequested)
        {
            SetState(MqttState.Connecting);
            var client = new MqttClientFactory().CreateMqttClient();
            var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var published = false;
            client.ApplicationMessageReceivedAsync += OnMessageAsync;
            client.DisconnectedAsync += _ =>
            {
                lost.TrySetResult();
                return Task.CompletedTask;
            };
            try
            {
                await client.ConnectAsync(BuildOptions(), stop).ConfigureAwait(false);
                failedLogged = false;
                lock (_lock)
                {
                    // A disconnect that came while connecting has already taken (null) the client: this one is not wanted.
                    if (_run?.Token == stop)
                    {
                        _client = client;
                        published = true;
                    }
                }
                if (!published)
                {
                    client.Dispose();
                    return;
                }
                SetState(MqttState.Connected);
                Node.Log($"Connected to broker: {ClientPrefix}{BrokerUrl}");
                await ResubscribeAsync(client, stop).ConfigureAwait(false);
                if (_birth is { } birth)
                {
                    await PublishLwtAsync(client, birth, stop).ConfigureAwait(false);
                }
                _firstConnect?.TrySetResult();
                await lost.Task.WaitAsync(stop).ConfigureAwait(false);
                Node.Log($"Disconnected from broker: {ClientPrefix}{BrokerUrl}");
                SetState(MqttState.Disconnected);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Closing: DisconnectAsync says goodbye on a connected client (close message, clean disconnect); one still
                // connecting is dropped here.
                if (!published)
                {
                    client.Dispose();
                }
                return;
            }
#pragma warning disable CA1031 // Any failure to connect (refused, TLS, auth, DNS) is retried, as mqtt.js does; the node never fails.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (!failedLogged)
                {
                    if (TlsFailure(ex) is { } tlsReason)
                    {
                        // A TLS problem (certificate refused, CA not trusted, tls-config not usable) does not heal by
                        // retrying: it is an error the user must see, not only a log line.
                        Node.Error($"TLS connection failed to broker: {ClientPrefix}{BrokerUrl} ({tlsReason})");
                    }
                    else
                    {
                        Node.Log($"Connection failed to broker: {ClientPrefix}{BrokerUrl} ({Reason(ex)})");
                    }
                    failedLogged = true;
                }
                if (State == MqttState.Connected)
                {
                    SetState(MqttState.Disconnected);
                }
            }
            lock (_lock)
            {
                if (ReferenceEquals(_client, client))
                {
                    _client = null;
                }
            }
            client.Dispose();
            try
            {
                await Task.Delay(reconnect, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private string ClientPrefix => Setting("clientid") is { Length: > 0 } id ? id + "@" : "";

    private async Task PublishLwtAsync(IMqttClient client, LwtMessage lwt, CancellationToken ct)
    {
        try
        {
            await client.PublishAsync(MqttCodec.ToPublish(lwt.Msg, lwt.Topic, lwt.Qos, lwt.Retain, IsV5), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException)
        {
            Node.Logger.LogWarning("mqtt-broker {Id}: could not publish to {Topic}: {Error}", Node.Id, lwt.Topic, ex.Message);
        }
    }

    /// <summary>Node-RED's disconnect: the close message first (when connected), then a clean disconnect (no will).</summary>
    internal async Task DisconnectAsync()
    {
        IMqttClient? client;
        CancellationTokenSource? run;
        Task loop;
        lock (_lock)
        {
            (client, run, loop) = (_client, _run, _loop);
            (_client, _run) = (null, null);
            _firstConnect?.TrySetResult();
        }
        if (run is not null)
        {
            await run.CancelAsync().ConfigureAwait(false);
        }
        if (client is { IsConnected: true })
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (_close is { } close)
            {
                await PublishLwtAsync(client, close, timeout.Token).ConfigureAwait(false);
            }
            try
            {
                await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
        client?.Dispose();
        try
        {
            await loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        run?.Dispose();
        SetState(MqttState.Disconnected);
    }
}
