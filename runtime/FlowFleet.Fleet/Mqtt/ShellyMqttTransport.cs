using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowFleet.Fleet.Mqtt;

/// <summary>
/// Shelly Gen2+ devices with MQTT enabled, as a second transport into the same <see cref="DeviceHub"/>: a device's
/// <c>&lt;prefix&gt;/events/rpc</c> (NotifyStatus, NotifyEvent, NotifyFullStatus) opens a session for it — admission, tokens
/// (the enrollment token it signed in to the embedded broker with), identity reads, RPC — exactly as a websocket would.
/// Requests go to <c>&lt;prefix&gt;/rpc</c> with <c>src = ReplyTopic/&lt;prefix&gt;</c>; answers come on <c>&lt;src&gt;/rpc</c>.
/// <c>&lt;prefix&gt;/online</c> false ends the session; true, from a device that has not spoken yet, is answered with a
/// <c>Shelly.GetStatus</c> whose result opens the session as its full status.
/// </summary>
public sealed partial class ShellyMqttTransport(DeviceHub hub, EmbeddedMqttBroker embedded, IOptions<MqttOptions> options, ILogger<ShellyMqttTransport> logger) : IHostedService
{
    // The id of the status request sent to a device that came online silently (the hub's own calls count from 1).
    private const long HelloId = 0;

    private readonly ShellyMqttOptions _options = options.Value.Shelly;
    private readonly ConcurrentDictionary<string, MqttDeviceChannel> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _retryAfter = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private IShellyMqttLink? _link;
    private long _framesIn;

    /// <summary>The broker the transport listens on, or null when it is off.</summary>
    public string? Broker => _link?.Name;

    public int DeviceCount => _channels.Count;

    public long FramesIn => Interlocked.Read(ref _framesIn);

    private string ReplyBase => _options.ReplyTopic.TrimEnd('/');

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return;
        }
        if (!string.IsNullOrEmpty(_options.Server))
        {
            if (!Uri.TryCreate(_options.Server, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "mqtts" or "tcp" or "ssl"))
            {
                throw new InvalidOperationException($"Mqtt:Shelly:Server '{_options.Server}' is not an mqtt:// or mqtts:// URL");
            }
            _link = new ClientMqttLink(uri, logger);
        }
        else if (embedded.IsRunning)
        {
            _link = embedded;
        }
        else
        {
            return;
        }
        var filters = _options.Prefixes.SelectMany(p => new[] { p + "/online", p + "/events/rpc" }).Append(ReplyBase + "/#").ToList();
        await _link.StartAsync(filters, OnMessageAsync, cancellationToken).ConfigureAwait(false);
        LogListening(_link.Name, string.Join(", ", filters));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var c in _channels.Values)
        {
            c.DeviceGone();
        }
        if (_link is { } link and not EmbeddedMqttBroker)
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }
    }

    private Task OnMessageAsync(MqttLinkMessage m)
    {
        Interlocked.Increment(ref _framesIn);
        var topic = m.Topic;
        if (topic.StartsWith(ReplyBase + "/", StringComparison.Ordinal) && topic.EndsWith("/rpc", StringComparison.Ordinal))
        {
            var prefix = topic[(ReplyBase.Length + 1)..^4];
            if (_channels.TryGetValue(prefix, out var channel))
            {
                channel.Deliver(m.Payload);
            }
            else if (Hello(m.Payload) is { } full)
            {
                Open(prefix, full, m);
            }
        }
        else if (topic.EndsWith("/events/rpc", StringComparison.Ordinal))
        {
            var prefix = topic[..^"/events/rpc".Length];
            if (!_channels.TryGetValue(prefix, out var channel) || !channel.Deliver(m.Payload))
            {
                Open(prefix, m.Payload, m);
            }
        }
        else if (topic.EndsWith("/online", StringComparison.Ordinal))
        {
            var prefix = topic[..^"/online".Length];
            var online = Encoding.UTF8.GetString(m.Payload).Trim();
            if (online == "false")
            {
                if (_channels.TryGetValue(prefix, out var channel))
                {
                    channel.DeviceGone();
                }
            }
            else if (online == "true" && !_channels.ContainsKey(prefix) && !Resting(prefix))
            {
                var hello = ShellyFrames.Request(HelloId, $"{ReplyBase}/{prefix}", "Shelly.GetStatus", null);
                _ = PublishQuietlyAsync(prefix + "/rpc", JsonSerializer.SerializeToUtf8Bytes(hello));
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>The answer to the hello request turned into the NotifyFullStatus a session starts with; null for anything else.</summary>
    private static byte[]? Hello(byte[] payload)
    {
        try
        {
            if (JsonNode.Parse(payload) is JsonObject r && r["id"] is JsonValue id && id.TryGetValue<double>(out var n) && n == HelloId
                && r["src"] is JsonValue src && r["result"] is JsonObject status)
            {
                status["ts"] = ShellyFrames.Now();
                return JsonSerializer.SerializeToUtf8Bytes(ShellyFrames.Notification(src.GetValue<string>(), "NotifyFullStatus", (JsonObject)status.DeepClone()));
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
        }
        return null;
    }

    private bool Resting(string prefix) => _retryAfter.TryGetValue(prefix, out var until) && Environment.TickCount64 < until;

    private void Open(string prefix, byte[] first, MqttLinkMessage m)
    {
        if (_stop.IsCancellationRequested || Resting(prefix) || prefix.Length == 0)
        {
            return;
        }
        var channel = new MqttDeviceChannel(prefix, $"{ReplyBase}/{prefix}", frame => _link!.PublishAsync(prefix + "/rpc", frame, _stop.Token), Ended);
        if (!_channels.TryAdd(prefix, channel))
        {
            // Another message opened it a moment ago.
            _channels.TryGetValue(prefix, out var other);
            other?.Deliver(first);
            return;
        }
        channel.Deliver(first);
        _ = ServeAsync(channel, m.Remote, m.Token);
    }

    private async Task ServeAsync(MqttDeviceChannel channel, string? remote, string? token)
    {
        try
        {
            await hub.ServeAsync(channel, remote, token, _stop.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // One device's failure must not end the transport; it is logged and its channel dropped.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogServeFailed(ex, channel.Prefix);
        }
        finally
        {
            _channels.TryRemove(new KeyValuePair<string, MqttDeviceChannel>(channel.Prefix, channel));
            channel.Dispose();
        }
    }

    /// <summary>The hub closed a device's session itself (denied, refused, replaced): its frames are ignored for a while.</summary>
    private void Ended(MqttDeviceChannel channel, bool byServer)
    {
        _channels.TryRemove(new KeyValuePair<string, MqttDeviceChannel>(channel.Prefix, channel));
        if (byServer)
        {
            _retryAfter[channel.Prefix] = Environment.TickCount64 + _options.RetryAfterSeconds * 1000L;
            if (_retryAfter.Count > 10_000)
            {
                _retryAfter.Clear();
            }
        }
    }

    private async Task PublishQuietlyAsync(string topic, byte[] payload)
    {
        try
        {
            await _link!.PublishAsync(topic, payload, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shelly over MQTT on the {Broker}: {Filters}")]
    private partial void LogListening(string broker, string filters);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shelly over MQTT: serving {Prefix} failed")]
    private partial void LogServeFailed(Exception ex, string prefix);
}
