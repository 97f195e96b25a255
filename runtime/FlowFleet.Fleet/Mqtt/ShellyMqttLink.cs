using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Mqtt;

/// <summary>One MQTT message for the Shelly transport; client id, address and token are known on the embedded broker only.</summary>
public readonly record struct MqttLinkMessage(string Topic, byte[] Payload, string? ClientId, string? Remote, string? Token);

/// <summary>How the Shelly transport reaches a broker: the embedded one in process, or an external one as a client.</summary>
public interface IShellyMqttLink : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Delivers messages matching <paramref name="filters"/> to <paramref name="received"/> from now on.</summary>
    Task StartAsync(IReadOnlyList<string> filters, Func<MqttLinkMessage, Task> received, CancellationToken ct);

    Task PublishAsync(string topic, byte[] payload, CancellationToken ct);
}

/// <summary>An external broker (<c>Mqtt:Shelly:Server</c>), reached with an MQTTnet client that reconnects every 5 s.</summary>
public sealed class ClientMqttLink(Uri server, ILogger logger) : IShellyMqttLink
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly CancellationTokenSource _stop = new();
    private IReadOnlyList<string> _filters = [];
    private Task _loop = Task.CompletedTask;

    public string Name => $"{server.Scheme}://{server.Host}:{server.Port}";

    public bool Connected => _client.IsConnected;

    public Task StartAsync(IReadOnlyList<string> filters, Func<MqttLinkMessage, Task> received, CancellationToken ct)
    {
        _filters = filters;
        _client.ApplicationMessageReceivedAsync += e => received(new MqttLinkMessage(e.ApplicationMessage.Topic, System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload), null, null, null));
        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private MqttClientOptions Options()
    {
        var tls = server.Scheme is "mqtts" or "ssl";
        var b = new MqttClientOptionsBuilder().WithTcpServer(server.Host, server.Port > 0 ? server.Port : tls ? 8883 : 1883)
            .WithClientId("flowfleet-" + Environment.MachineName + "-" + Environment.ProcessId).WithCleanSession(true);
        if (server.UserInfo is { Length: > 0 } info)
        {
            var colon = info.IndexOf(':', StringComparison.Ordinal);
            b.WithCredentials(Uri.UnescapeDataString(colon < 0 ? info : info[..colon]), colon < 0 ? "" : Uri.UnescapeDataString(info[(colon + 1)..]));
        }
        if (tls)
        {
            b.WithTlsOptions(o => o.UseTls().WithTargetHost(server.Host));
        }
        var options = b.Build();
        if (options.ChannelOptions is MqttClientTcpOptions tcp)
        {
            // MQTTnet's 8 KiB SO_RCVBUF/SO_SNDBUF turn the kernel's autotuning off and stall a busy connection (see the
            // mqtt-broker node's WithSocketBuffers): a large size, capped by the kernel at rmem_max/wmem_max.
            tcp.BufferSize = 1 << 20;
        }
        return options;
    }

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (!_client.IsConnected)
                {
                    await _client.ConnectAsync(Options(), stop).ConfigureAwait(false);
                    var subscribe = new MqttClientSubscribeOptionsBuilder();
                    foreach (var f in _filters)
                    {
                        subscribe.WithTopicFilter(f, MqttQualityOfServiceLevel.AtLeastOnce);
                    }
                    await _client.SubscribeAsync(subscribe.Build(), stop).ConfigureAwait(false);
                    logger.LogInformation("Shelly over MQTT: connected to {Broker}", Name);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or MQTTnet.Adapter.MqttConnectingFailedException or InvalidOperationException or OperationCanceledException)
            {
                logger.LogWarning("Shelly over MQTT: {Broker} unreachable: {Error}", Name, ex.Message);
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(5), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task PublishAsync(string topic, byte[] payload, CancellationToken ct)
    {
        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
        await _client.PublishAsync(message, ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await _client.TryDisconnectAsync().ConfigureAwait(false);
        _client.Dispose();
        _stop.Dispose();
    }
}
