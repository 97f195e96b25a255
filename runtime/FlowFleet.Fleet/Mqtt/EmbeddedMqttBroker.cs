using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace FlowFleet.Fleet.Mqtt;

/// <summary>Checks MQTT user names and passwords against the server's user store (the server registers one).</summary>
public interface IMqttUserStore
{
    Task<bool> CheckAsync(string user, string password, CancellationToken ct);
}

/// <summary>Who a client of the embedded broker is: this process, a FlowFleet user, a device (with its token), anonymous.</summary>
public sealed record MqttPrincipal(string Kind, string? Name, string? Token, string? Remote);

/// <summary>
/// The embedded MQTTnet broker (<c>Mqtt:Broker</c>): devices and gateways publish straight into FlowFleet, flows' mqtt nodes
/// reach it by the name <c>flowfleet</c>. Clients sign in as a FlowFleet user, as a device (user = device id, password = the
/// enrollment token bound to it, or any valid enrollment token), or anonymously when <c>AllowAnonymous</c>.
/// </summary>
public sealed partial class EmbeddedMqttBroker(IOptions<MqttOptions> options, IDeviceStore devices, IEnrollmentTokenStore tokens, ILogger<EmbeddedMqttBroker> logger,
    IMqttUserStore? users = null) : IHostedService, IShellyMqttLink
{
    /// <summary>The user name this process signs in with (its password is random per process).</summary>
    public const string InternalUser = "$flowfleet";

    private readonly MqttBrokerOptions _options = options.Value.Broker;
    private readonly ConcurrentDictionary<string, MqttPrincipal> _clients = new(StringComparer.Ordinal);
    private MqttServer? _server;
    private Func<MqttLinkMessage, Task>? _received;
    private string[] _filters = [];

    public string InternalPassword { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    private int _port = options.Value.Broker.Port;

    public bool Enabled => _options.Enabled;

    public bool IsRunning => _server?.IsStarted == true;

    /// <summary>The plain port (0 when only TLS listens).</summary>
    public int Port => _port;

    public int ClientCount => _clients.Count;

    public string Name => "embedded broker";

    public Task StartAsync(CancellationToken cancellationToken) => StartAsync(cancellationToken, retried: false);

    private async Task StartAsync(CancellationToken cancellationToken, bool retried)
    {
        if (!_options.Enabled)
        {
            return;
        }
        var address = IPAddress.TryParse(_options.Address, out var a) ? a : IPAddress.Any;
        var b = new MqttServerOptionsBuilder().WithPersistentSessions(false).WithMaxPendingMessagesPerClient(10_000);
        if (_port > 0)
        {
            b.WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(address).WithDefaultEndpointPort(_port);
        }
        else
        {
            b.WithoutDefaultEndpoint();
        }
        if (!string.IsNullOrEmpty(_options.CertificatePath))
        {
            var cert = X509CertificateLoader.LoadPkcs12FromFile(_options.CertificatePath, _options.CertificatePassword);
            b.WithEncryptedEndpoint().WithEncryptedEndpointBoundIPAddress(address).WithEncryptedEndpointPort(_options.TlsPort).WithEncryptionCertificate(cert);
        }
        var server = new MqttServerFactory().CreateMqttServer(b.Build());
        server.ValidatingConnectionAsync += ValidateAsync;
        server.ClientDisconnectedAsync += e =>
        {
            _clients.TryRemove(e.ClientId, out _);
            return Task.CompletedTask;
        };
        server.InterceptingPublishAsync += OnPublishAsync;
        server.InterceptingSubscriptionAsync += OnSubscribeAsync;
        try
        {
            await server.StartAsync().ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException ex) when (_options.AnyPortIfTaken && _port > 0 && !retried)
        {
            // --demo next to another broker (or another demo): any free port rather than no broker.
            server.Dispose();
            using var probe = new System.Net.Sockets.TcpListener(address, 0);
            probe.Start();
            _port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            LogPortTaken(_options.Port, _port, ex.Message);
            await StartAsync(cancellationToken, retried: true).ConfigureAwait(false);
            return;
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            // A broker that cannot listen must not take the server down with it (the rest works without it).
            server.Dispose();
            LogStartFailed(_options.Address, _port, ex.Message);
            return;
        }
        _server = server;
        LogStarted(_options.Address, _port, string.IsNullOrEmpty(_options.CertificatePath) ? 0 : _options.TlsPort);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is { } s)
        {
            _server = null;
            await s.StopAsync().ConfigureAwait(false);
            s.Dispose();
        }
    }

    private async Task ValidateAsync(ValidatingConnectionEventArgs e)
    {
        var remote = (e.RemoteEndPoint as IPEndPoint)?.Address.ToString();
        var principal = await AuthenticateAsync(e.UserName, e.Password, e.ClientId, remote, e.CancellationToken).ConfigureAwait(false);
        if (principal is null)
        {
            e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            LogRefused(e.ClientId, remote, e.UserName);
            return;
        }
        _clients[e.ClientId] = principal;
    }

    private async Task<MqttPrincipal?> AuthenticateAsync(string? user, string? password, string clientId, string? remote, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(user) && string.IsNullOrEmpty(password))
        {
            return _options.AllowAnonymous ? new MqttPrincipal("anonymous", null, null, remote) : null;
        }
        if (string.IsNullOrEmpty(password))
        {
            return null;
        }
        if (user == InternalUser)
        {
            return CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(password), System.Text.Encoding.UTF8.GetBytes(InternalPassword))
                ? new MqttPrincipal("internal", user, null, remote) : null;
        }
        // A device: its id with the token bound to it, or any valid enrollment token (which the hub then binds).
        if (!string.IsNullOrEmpty(user) && devices.Get(user) is { TokenHash: { } bound }
            && string.Equals(EnrollmentTokenStore.HashToken(password), bound, StringComparison.Ordinal))
        {
            return new MqttPrincipal("device", user, password, remote);
        }
        if (await tokens.IsTokenValidAsync(password, ct).ConfigureAwait(false))
        {
            return new MqttPrincipal("device", user ?? clientId, password, remote);
        }
        if (!string.IsNullOrEmpty(user) && users is not null && await users.CheckAsync(user, password, ct).ConfigureAwait(false))
        {
            return new MqttPrincipal("user", user, null, remote);
        }
        return null;
    }

    /// <summary>Devices may not read the server's reply topics (other devices' answers) nor subscribe to everything.</summary>
    private Task OnSubscribeAsync(InterceptingSubscriptionEventArgs e)
    {
        if (_clients.TryGetValue(e.ClientId, out var p) && p.Kind is "device" or "anonymous")
        {
            var topic = e.TopicFilter.Topic;
            var reply = options.Value.Shelly.ReplyTopic;
            if (topic.StartsWith('#') || topic.StartsWith('+') || topic.StartsWith(reply, StringComparison.Ordinal) || topic.StartsWith('$'))
            {
                e.ProcessSubscription = false;
                e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            }
        }
        return Task.CompletedTask;
    }

    private async Task OnPublishAsync(InterceptingPublishEventArgs e)
    {
        var received = _received;
        if (received is null || e.ClientId == InternalClientId)
        {
            return;
        }
        var topic = e.ApplicationMessage.Topic;
        foreach (var f in _filters)
        {
            if (MqttTopicFilterComparer.Compare(topic, f) == MqttTopicFilterCompareResult.IsMatch)
            {
                _clients.TryGetValue(e.ClientId, out var p);
                await received(new MqttLinkMessage(topic, System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload), e.ClientId, p?.Remote, p?.Token)).ConfigureAwait(false);
                return;
            }
        }
    }

    private const string InternalClientId = "$flowfleet-shelly";

    Task IShellyMqttLink.StartAsync(IReadOnlyList<string> filters, Func<MqttLinkMessage, Task> received, CancellationToken ct)
    {
        _filters = [.. filters];
        _received = received;
        return Task.CompletedTask;
    }

    public async Task PublishAsync(string topic, byte[] payload, CancellationToken ct)
    {
        if (_server is not { } server)
        {
            throw new InvalidOperationException("The embedded MQTT broker is not running");
        }
        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
        await server.InjectApplicationMessage(new InjectedMqttApplicationMessage(message) { SenderClientId = InternalClientId }, ct).ConfigureAwait(false);
    }

    ValueTask IAsyncDisposable.DisposeAsync()
    {
        _received = null;
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded MQTT broker listening on {Address}:{Port} (TLS port {TlsPort}, 0 = none)")]
    private partial void LogStarted(string address, int port, int tlsPort);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedded MQTT broker: port {Port} is taken, listening on {Other} instead ({Error})")]
    private partial void LogPortTaken(int port, int other, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Embedded MQTT broker could not listen on {Address}:{Port}: {Error}; running without it")]
    private partial void LogStartFailed(string address, int port, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT client {ClientId} from {Remote} refused: bad user name or password (user {User})")]
    private partial void LogRefused(string clientId, string? remote, string? user);
}
