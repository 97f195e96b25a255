using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;

namespace FlowFleet.DeviceSim;

/// <summary>
/// A simulated device with MQTT enabled, as Shelly Gen2+ firmware does it: client id = device id, will and retained
/// <c>&lt;id&gt;/online</c>, RPC requests on <c>&lt;id&gt;/rpc</c> answered on <c>&lt;src&gt;/rpc</c>, notifications
/// (NotifyFullStatus on connect, NotifyStatus, NotifyEvent) on <c>&lt;id&gt;/events/rpc</c>. Reconnects with backoff.
/// </summary>
public sealed class SimMqttConnection : IAsyncDisposable
{
    private readonly SimDevice _device;
    private readonly SimOptions _options;
    private readonly Uri _broker;
    private readonly string? _user;
    private readonly string? _password;
    private readonly CancellationTokenSource _stop = new();
    private IMqttClient? _client;
    private Task? _loop;

    /// <param name="broker"><c>mqtt://[user:password@]host:port</c>.</param>
    /// <param name="token">When set: user = device id, password = this enrollment token (per-device credentials).</param>
    public SimMqttConnection(SimDevice device, SimOptions options, Uri broker, string? token = null)
    {
        _device = device;
        _options = options;
        _broker = broker;
        if (token is not null)
        {
            (_user, _password) = (device.Id, token);
        }
        else if (broker.UserInfo is { Length: > 0 } info)
        {
            var colon = info.IndexOf(':', StringComparison.Ordinal);
            (_user, _password) = (Uri.UnescapeDataString(colon < 0 ? info : info[..colon]), colon < 0 ? "" : Uri.UnescapeDataString(info[(colon + 1)..]));
        }
        device.Notify += frame => _ = PublishAsync(Prefix + "/events/rpc", frame);
        device.Rebooting += delay => _ = RebootAsync(delay);
    }

    public SimDevice Device => _device;

    /// <summary>Shelly's default topic prefix: the device id.</summary>
    public string Prefix => _device.Id;

    public bool Connected => _client?.IsConnected == true;

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    private MqttClientOptions Options()
    {
        var b = new MqttClientOptionsBuilder().WithTcpServer(_broker.Host, _broker.Port > 0 ? _broker.Port : 1883).WithClientId(_device.Id).WithCleanSession(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(60)).WithWillTopic(Prefix + "/online").WithWillPayload("false").WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (_user is not null)
        {
            b.WithCredentials(_user, _password ?? "");
        }
        return b.Build();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var backoff = _options.MinBackoff;
        while (!ct.IsCancellationRequested)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            client.DisconnectedAsync += _ =>
            {
                lost.TrySetResult();
                return Task.CompletedTask;
            };
            client.ApplicationMessageReceivedAsync += e => OnRequestAsync(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload));
            try
            {
                await client.ConnectAsync(Options(), ct);
                _client = client;
                backoff = _options.MinBackoff;
                await client.SubscribeAsync(Prefix + "/rpc", MqttQualityOfServiceLevel.AtLeastOnce, ct);
                _device.SetConnected(true);
                await PublishAsync(Prefix + "/online", "true"u8.ToArray(), retain: true);
                await PublishAsync(Prefix + "/events/rpc", _device.FullStatusFrame());
                using var session = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var reports = SimTiming.ReportLoopAsync(_device, _options.ReportInterval, session.Token);
                try
                {
                    await lost.Task.WaitAsync(ct);
                }
                finally
                {
                    await session.CancelAsync();
                    await reports;
                }
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or InvalidOperationException)
            {
            }
            _device.SetConnected(false);
            _client = null;
            if (ct.IsCancellationRequested)
            {
                if (client.IsConnected)
                {
                    // Going away on purpose: say so (the will is for an unexpected loss).
                    await PublishAsync(client, Prefix + "/online", "false"u8.ToArray(), retain: true);
                    await client.TryDisconnectAsync();
                }
                client.Dispose();
                return;
            }
            client.Dispose();
            await SimTiming.Delay(SimTiming.Jitter(backoff), ct);
            backoff = SimTiming.Next(backoff, _options);
        }
    }

    private async Task OnRequestAsync(byte[] payload)
    {
        JsonObject? frame;
        try
        {
            frame = JsonNode.Parse(payload) as JsonObject;
        }
        catch (JsonException)
        {
            return;
        }
        if (frame?["method"] is null || frame["src"]?.GetValue<string>() is not { Length: > 0 } src)
        {
            return;
        }
        if (_device.HandleFrame(frame, "MQTT", localChannel: false) is { } response)
        {
            await PublishAsync(src + "/rpc", response);
        }
    }

    private async Task RebootAsync(TimeSpan delay)
    {
        await Task.Delay(delay);
        if (_client is { } c)
        {
            // A reboot drops the connection without a goodbye: the broker publishes the will.
            await c.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.DisconnectWithWillMessage).Build());
        }
    }

    private Task PublishAsync(string topic, JsonObject frame) => PublishAsync(topic, JsonSerializer.SerializeToUtf8Bytes(frame));

    private Task PublishAsync(string topic, byte[] payload, bool retain = false) =>
        _client is { } c ? PublishAsync(c, topic, payload, retain) : Task.CompletedTask;

    private static async Task PublishAsync(IMqttClient client, string topic, byte[] payload, bool retain)
    {
        try
        {
            await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag(retain)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        _stop.Dispose();
    }
}
