using System.Net;
using FlowFleet.Fleet.Mqtt;
using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Fleet;

/// <summary>Checks the <c>Mqtt</c> settings when the server starts, each error naming the setting and the value it got.</summary>
internal sealed class MqttOptionsValidator : IValidateOptions<MqttOptions>
{
    public ValidateOptionsResult Validate(string? name, MqttOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var broker = options.Broker;
        var tls = !string.IsNullOrEmpty(broker.CertificatePath);
        if (broker.Port is < 0 or > 65535 || (broker.Port == 0 && !tls))
        {
            errors.Add($"Mqtt:Broker:Port must be a TCP port (1-65535; 0 only beside a TLS listener), got {broker.Port}");
        }
        if (tls && broker.TlsPort is < 1 or > 65535)
        {
            errors.Add($"Mqtt:Broker:TlsPort must be a TCP port (1-65535), got {broker.TlsPort}");
        }
        if (!IPAddress.TryParse(broker.Address, out _))
        {
            errors.Add($"Mqtt:Broker:Address must be an IP address to listen on (0.0.0.0, ::, 127.0.0.1), got '{broker.Address}'");
        }
        if (tls && !File.Exists(broker.CertificatePath))
        {
            errors.Add($"Mqtt:Broker:CertificatePath names no file: '{broker.CertificatePath}'");
        }
        var shelly = options.Shelly;
        if (!string.IsNullOrEmpty(shelly.Server) &&
            (!Uri.TryCreate(shelly.Server, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "mqtts" or "tcp" or "ssl")))
        {
            errors.Add($"Mqtt:Shelly:Server must be an mqtt:// or mqtts:// URL, got '{shelly.Server}'");
        }
        if (shelly.Prefixes.Length == 0 || shelly.Prefixes.Any(p => string.IsNullOrWhiteSpace(p) || p.Contains('#', StringComparison.Ordinal)))
        {
            errors.Add($"Mqtt:Shelly:Prefixes must list topic prefixes (a level or +, no #), got [{string.Join(", ", shelly.Prefixes)}]");
        }
        if (string.IsNullOrWhiteSpace(shelly.ReplyTopic) || shelly.ReplyTopic.IndexOfAny(['+', '#']) >= 0)
        {
            errors.Add($"Mqtt:Shelly:ReplyTopic must be a topic without wildcards, got '{shelly.ReplyTopic}'");
        }
        if (shelly.RetryAfterSeconds < 0)
        {
            errors.Add($"Mqtt:Shelly:RetryAfterSeconds must be 0 or more, got {shelly.RetryAfterSeconds}");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
