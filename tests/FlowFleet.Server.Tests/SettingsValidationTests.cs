using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Tests;

/// <summary>
/// Settings without a sensible meaning stop the server at start (<c>ValidateOnStart</c>) with a message that names the
/// setting and the value it got — the MQTT, cluster and core-node sections (the others: <c>MemoryTrimmerTests</c>).
/// </summary>
public sealed class SettingsValidationTests
{
    [Theory]
    [InlineData("Mqtt:Broker:Port must be a TCP port (1-65535; 0 only beside a TLS listener), got 70000", "--Mqtt:Broker:Port", "70000")]
    [InlineData("Mqtt:Broker:Address must be an IP address to listen on (0.0.0.0, ::, 127.0.0.1), got 'everywhere'", "--Mqtt:Broker:Address", "everywhere")]
    [InlineData("Mqtt:Broker:CertificatePath names no file: '/nonexistent/broker.pfx'", "--Mqtt:Broker:CertificatePath", "/nonexistent/broker.pfx")]
    [InlineData("Mqtt:Shelly:Server must be an mqtt:// or mqtts:// URL, got 'http://broker:1883'", "--Mqtt:Shelly:Server", "http://broker:1883")]
    [InlineData("Mqtt:Shelly:ReplyTopic must be a topic without wildcards, got 'replies/#'", "--Mqtt:Shelly:ReplyTopic", "replies/#")]
    [InlineData("Mqtt:Shelly:RetryAfterSeconds must be 0 or more, got -5", "--Mqtt:Shelly:RetryAfterSeconds", "-5")]
    [InlineData("Cluster:Nats must be a NATS URL (nats://host:4222), got 'http://127.0.0.1:4222'", "--Cluster:Nats", "http://127.0.0.1:4222")]
    [InlineData("Cluster:Heartbeat must be a positive time span (e.g. 00:00:05), got 00:00:00", "--Cluster:Nats", "nats://127.0.0.1:1", "--Cluster:Heartbeat", "00:00:00")]
    [InlineData("Cluster:Subject must be one subject token (no dots, spaces, * or >), got 'ff.a'", "--Cluster:Nats", "nats://127.0.0.1:1", "--Cluster:Subject", "ff.a")]
    [InlineData("Cluster:FanoutDeviceQueue must be at least 1, got 0", "--Cluster:Nats", "nats://127.0.0.1:1", "--Cluster:FanoutDeviceQueue", "0")]
    [InlineData("Cluster:LeaseSeconds must be more than 0, got 0", "--Cluster:Nats", "nats://127.0.0.1:1", "--Cluster:LeaseSeconds", "0")]
    [InlineData("Nodes:Mqtt:ReconnectTime must be at least 1 (milliseconds), got 0", "--Nodes:Mqtt:ReconnectTime", "0")]
    [InlineData("Nodes:File:WorkingDirectory must be an existing directory, got '/nonexistent/ff-files'", "--Nodes:File:WorkingDirectory", "/nonexistent/ff-files")]
    public async Task A_bad_setting_stops_the_start_with_a_message_naming_it(string message, params string[] args)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => ServerFixture.StartAsync(noAuth: true, dataDir: null, args));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }
}
