using System.Text.Json.Nodes;
using FlowFleet.Fleet.Cluster;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// Keeps the instances' registries agreeing on what users change, over a shared PostgreSQL store: an edit through any
/// instance (name, tags, desired state, admission, groups) is written to the store there and announced on
/// <c>{subject}.registry</c>; the others read the device (or all groups) back. So the instance a device moves to already
/// holds its name and tags, and its writes as the new owner keep them.
/// </summary>
public sealed partial class ClusterRegistry(IDeviceStore devices, IGroupStore groups, NatsCluster cluster, IOptions<ClusterOptions> options, ILogger<ClusterRegistry> logger)
    : BackgroundService
{
    private static readonly HashSet<string> s_shared = new(StringComparer.Ordinal) { "name", "tags", "desired", "admission", "groups", "removed" };

    // Set while reading back what another instance announced, so the read-back is not announced again.
    private static readonly AsyncLocal<bool> s_refreshing = new();

    private NatsConnection? _nats;

    private string Subject => options.Value.Subject + ".registry";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        devices.Changed += OnChanged;
        try
        {
            var nats = await cluster.ConnectionAsync(stoppingToken).ConfigureAwait(false);
            _nats = nats;
            await using var sub = await nats.SubscribeCoreAsync<string>(Subject, cancellationToken: stoppingToken).ConfigureAwait(false);
            await foreach (var m in sub.Msgs.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                if (Parse(m.Data) is { } change && change.Instance != cluster.Instance)
                {
                    await RefreshAsync(change.Device, change.What, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            devices.Changed -= OnChanged;
            _nats = null;
        }
    }

    private void OnChanged(string id, string what)
    {
        if (s_refreshing.Value || !s_shared.Contains(what) || _nats is not { } nats)
        {
            return;
        }
        var payload = new JsonObject { ["instance"] = cluster.Instance, ["device"] = id, ["what"] = what }.ToJsonString();
        _ = PublishAsync(nats, payload);
    }

    private async Task PublishAsync(NatsConnection nats, string payload)
    {
        try
        {
            await nats.PublishAsync(Subject, payload).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or ObjectDisposedException)
        {
            LogPublishFailed(ex.Message);
        }
    }

    private async Task RefreshAsync(string id, string what, CancellationToken ct)
    {
        s_refreshing.Value = true;
        try
        {
            if (id.Length == 0)
            {
                await groups.RefreshAsync(ct).ConfigureAwait(false);
            }
            else
            {
                await devices.RefreshAsync(id, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // The store being unreachable must not end the service: the next change reads it again.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogRefreshFailed(ex, id, what);
        }
        finally
        {
            s_refreshing.Value = false;
        }
    }

    private static (string Instance, string Device, string What)? Parse(string? data)
    {
        try
        {
            return JsonNode.Parse(data ?? "null") is JsonObject o && o["instance"] is JsonValue i && i.TryGetValue<string>(out var instance)
                && o["device"] is JsonValue d && d.TryGetValue<string>(out var device)
                ? (instance, device, o["what"] is JsonValue w && w.TryGetValue<string>(out var what) ? what : "")
                : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: registry change not announced ({Reason})")]
    private partial void LogPublishFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: device {Device} ({What}) could not be read back from the store")]
    private partial void LogRefreshFailed(Exception ex, string device, string what);
}
