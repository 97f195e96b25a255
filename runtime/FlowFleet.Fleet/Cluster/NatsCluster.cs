using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace FlowFleet.Fleet.Cluster;

/// <summary>
/// Cluster mode over NATS. Each instance publishes what happens to the devices connected to it on <c>{subject}.dev.{instance}</c>
/// (ownership announcements with the device's identity and status, then its status deltas, events, config and info), keeps
/// a map of the devices other instances hold and mirrors them in its registry and hub events, and serves RPCs for its own
/// devices on <c>{subject}.rpc.{instance}</c>, where <see cref="DeviceHub.CallAsync"/> sends calls for devices it does not
/// hold. A new instance says hello (<c>{subject}.hello</c>) and the others re-announce, so it learns the fleet it joined;
/// heartbeats (<c>{subject}.beat</c>) keep the members list. A device that reconnects to another instance moves there: the
/// new owner's announcement closes the stale session here (see <see cref="OnOwned"/>).
/// </summary>
public sealed partial class NatsCluster(DeviceHub hub, IDeviceStore registry, IOptions<ClusterOptions> options, ILogger<NatsCluster> logger,
    System.Diagnostics.Metrics.IMeterFactory? meters = null) : BackgroundService, IRemoteDevices
{
    // Past the caller's own timeout: the owner answers -104 itself when the device is slow; this is for an owner that died.
    private static readonly TimeSpan ReplyMargin = TimeSpan.FromSeconds(2);

    private readonly ClusterOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, string> _owners = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private NatsConnection? _nats;

    public string Instance { get; } = string.IsNullOrWhiteSpace(options.Value.Instance) ? "ff-" + Guid.NewGuid().ToString("N")[..8] : options.Value.Instance!;

    /// <summary>Completes once connected and subscribed (tests wait for it; the server does not).</summary>
    public Task Ready => _ready.Task;

    /// <summary>
    /// The instance's one NATS connection, once connected (the cluster's flow and registry services share it rather than
    /// opening their own); the stop token cancels the wait.
    /// </summary>
    public async Task<NatsConnection> ConnectionAsync(CancellationToken ct)
    {
        await Ready.WaitAsync(ct).ConfigureAwait(false);
        return _nats ?? throw new OperationCanceledException("the cluster connection is closed", ct);
    }

    /// <summary>True while the NATS connection is open.</summary>
    public bool Connected => _nats is { ConnectionState: NatsConnectionState.Open };

    /// <summary>Devices other instances hold, with the instance holding each.</summary>
    public IReadOnlyDictionary<string, string> RemoteOwners => _owners;

    private string Subject(string tail) => $"{_options.Subject}.{tail}";

    public string? OwnerOf(string deviceId) => _owners.GetValueOrDefault(deviceId);

    public Task<JsonNode?> CallAsync(string owner, string deviceId, string method, JsonNode? parameters, TimeSpan timeout, CancellationToken ct) =>
        CallAsync(owner, deviceId, method, parameters, timeout, ct, forwarded: false);

    private async Task<JsonNode?> CallAsync(string owner, string deviceId, string method, JsonNode? parameters, TimeSpan timeout, CancellationToken ct, bool forwarded)
    {
        var nats = _nats ?? throw new ShellyRpcException(ShellyRpcException.Unavailable, $"Device {deviceId} is offline (cluster not connected)");
        var request = new JsonObject
        {
            ["device"] = deviceId, ["method"] = method, ["params"] = parameters?.DeepClone(), ["timeoutMs"] = timeout.TotalMilliseconds,
        };
        if (forwarded)
        {
            request["forwarded"] = true;
        }
        NatsMsg<string> reply;
        try
        {
            reply = await nats.RequestAsync<string, string>(Subject("rpc." + owner), request.ToJsonString(),
                replyOpts: new NatsSubOpts { Timeout = timeout + ReplyMargin }, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (NatsNoRespondersException)
        {
            // The owner is gone without saying so (killed): forget it; the device shows up again where it reconnects.
            Forget(deviceId, owner);
            throw new ShellyRpcException(ShellyRpcException.Unavailable, $"Device {deviceId} is offline");
        }
        catch (NatsNoReplyException)
        {
            throw new ShellyRpcException(ShellyRpcException.DeadlineExceeded, $"Device {deviceId} did not answer {method} within {timeout.TotalSeconds:0.#} s");
        }
        catch (NatsException ex)
        {
            throw new ShellyRpcException(ShellyRpcException.Unavailable, $"Device {deviceId} is unreachable: {ex.Message}");
        }
        JsonObject? answer;
        try
        {
            answer = JsonNode.Parse(reply.Data ?? "null") as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            answer = null;
        }
        if (answer is null)
        {
            throw new ShellyRpcException(ShellyRpcException.Unavailable, $"Instance {owner} sent an unreadable answer for {deviceId}");
        }
        if (answer["error"] is JsonObject error)
        {
            var ex = ShellyRpcException.FromJson(error);
            throw new ShellyRpcException(ex.Code, ex.Message) { FromDevice = error["fromDevice"] is JsonValue f && f.TryGetValue<bool>(out var b) && b };
        }
        return answer["result"]?.DeepClone();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nats = new NatsConnection(NatsOpts.Default with { Url = _options.Nats!, Name = "flowfleet-" + Instance });
        _nats = nats;
        CreateInstruments();
        try
        {
            // NATS down at start must not stop the server: keep trying; devices and local RPCs work meanwhile.
            while (true)
            {
                try
                {
                    await nats.ConnectAsync().ConfigureAwait(false);
                    break;
                }
                catch (NatsException ex)
                {
                    LogConnectFailed(_options.Nats!, ex.Message);
                    await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken).ConfigureAwait(false);
                }
            }
            await using var devices = await nats.SubscribeCoreAsync<byte[]>(Subject("dev.*"), cancellationToken: stoppingToken).ConfigureAwait(false);
            _deviceQueue = devices.Msgs;
            await using var hello = await nats.SubscribeCoreAsync<string>(Subject("hello"), cancellationToken: stoppingToken).ConfigureAwait(false);
            await using var beats = await nats.SubscribeCoreAsync<byte[]>(Subject("beat"), cancellationToken: stoppingToken).ConfigureAwait(false);
            await using var rpc = await nats.SubscribeCoreAsync<string>(Subject("rpc." + Instance), cancellationToken: stoppingToken).ConfigureAwait(false);
            await using var resync = await nats.SubscribeCoreAsync<string>(Subject("resync." + Instance), cancellationToken: stoppingToken).ConfigureAwait(false);
            await using var decide = await nats.SubscribeCoreAsync<string>(Subject("decide." + Instance), cancellationToken: stoppingToken).ConfigureAwait(false);
            using var events = hub.Subscribe(OnDeviceEvent);
            await nats.PublishAsync(Subject("hello"), Instance, cancellationToken: stoppingToken).ConfigureAwait(false);
            await BeatAsync(false, stoppingToken).ConfigureAwait(false);
            AnnounceAll();
            hub.Remote = this;
            LogJoined(Instance, _options.Nats!);
            _ready.TrySetResult();
            await Task.WhenAll(
                ReadAsync(devices, OnDeviceMessage, stoppingToken),
                ReadAsync(hello, OnHello, stoppingToken),
                ReadAsync(beats, OnBeat, stoppingToken),
                ReadAsync(rpc, m => _ = ServeAsync(m, stoppingToken), stoppingToken),
                ReadAsync(resync, OnResync, stoppingToken),
                ReadAsync(decide, m => _ = ServeDecisionAsync(m, stoppingToken), stoppingToken),
                FanoutLoopAsync(stoppingToken),
                BeatLoopAsync(stoppingToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            hub.Remote = null;
            _ready.TrySetCanceled(CancellationToken.None);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // A clean stop hands the devices back at once: the others stop routing here (they reconnect elsewhere).
        if (_nats is { ConnectionState: NatsConnectionState.Open } nats)
        {
            try
            {
                // Queued behind what is pending, so the others apply it after the devices' last updates.
                foreach (var s in hub.Sessions.Where(s => s.Admitted))
                {
                    Enqueue(s.Id, new FanoutItem { Kind = FanoutKind.Raw, Raw = Offline(s.Id) });
                }
                await FlushAsync(cancellationToken).ConfigureAwait(false);
                await BeatAsync(true, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NatsException or OperationCanceledException)
            {
                LogPublishFailed(ex.Message);
            }
        }
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_nats is { } open)
        {
            await open.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ReadAsync<T>(INatsSub<T> sub, Action<NatsMsg<T>> handle, CancellationToken ct)
    {
        await foreach (var m in sub.Msgs.ReadAllAsync(ct).ConfigureAwait(false))
        {
            try
            {
                handle(m);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or System.Text.Json.JsonException)
            {
                // A message no reader foresaw (another version's shape) must not end the subscription.
                Interlocked.Increment(ref _badMessages);
                LogBadMessage(sub.Subject, ex.Message);
            }
        }
    }

    private async Task ServeAsync(NatsMsg<string> m, CancellationToken ct)
    {
        JsonObject answer;
        try
        {
            var request = JsonNode.Parse(m.Data ?? "null") as JsonObject ?? throw new ShellyRpcException(ShellyRpcException.InvalidArgument, "Bad cluster request");
            var id = JsonRead.Text(request["device"]) ?? throw new ShellyRpcException(ShellyRpcException.InvalidArgument, "Bad cluster request: no device");
            var method = JsonRead.Text(request["method"]) ?? throw new ShellyRpcException(ShellyRpcException.InvalidArgument, "Bad cluster request: no method");
            TimeSpan? timeout = request["timeoutMs"] is JsonValue t && t.TryGetValue<double>(out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : null;
            // The device moved on (the caller's map lags the announcement): the call follows it, once — a forwarded call is
            // never forwarded again, so two instances with crossed maps can't bounce it.
            var result = hub.Session(id) is not { Admitted: true, IsClosed: false } && JsonRead.Bool(request["forwarded"]) != true
                && OwnerOf(id) is { } owner && owner != Instance
                ? await CallAsync(owner, id, method, request["params"], timeout ?? hub.Options.RpcTimeout, ct, forwarded: true).ConfigureAwait(false)
                : await hub.CallHereAsync(id, method, request["params"]?.DeepClone(), timeout, ct).ConfigureAwait(false);
            answer = new JsonObject { ["result"] = result?.DeepClone() };
        }
        catch (ShellyRpcException ex)
        {
            answer = new JsonObject { ["error"] = new JsonObject { ["code"] = ex.Code, ["message"] = ex.Message, ["fromDevice"] = ex.FromDevice } };
        }
        catch (System.Text.Json.JsonException)
        {
            answer = new JsonObject { ["error"] = new JsonObject { ["code"] = ShellyRpcException.InvalidArgument, ["message"] = "Bad cluster request" } };
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            await m.ReplyAsync(answer.ToJsonString(), cancellationToken: ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException)
        {
            LogPublishFailed(ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: cannot reach NATS at {Url} ({Reason}); retrying")]
    private partial void LogConnectFailed(string url, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster: instance {Instance} joined through {Url}")]
    private partial void LogJoined(string instance, string url);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: a message on {Subject} was not understood ({Reason})")]
    private partial void LogBadMessage(string subject, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: publish failed ({Reason})")]
    private partial void LogPublishFailed(string reason);
}

public static class ClusterServiceCollectionExtensions
{
    /// <summary>Cluster mode over NATS (call only when <c>Cluster:Nats</c> is set; without it nothing changes).</summary>
    public static IServiceCollection AddFleetCluster(this IServiceCollection services, Action<ClusterOptions> configure)
    {
        services.Configure(configure);
        services.AddSingleton<NatsCluster>();
        services.AddHostedService(sp => sp.GetRequiredService<NatsCluster>());
        return services;
    }
}
