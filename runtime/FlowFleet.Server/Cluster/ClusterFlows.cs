using System.Text.Json.Nodes;
using FlowFleet.Fleet.Cluster;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Storage;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// One deployed flow set for the whole cluster. A deploy through any instance saves the flows to PostgreSQL
/// (<see cref="PostgresFlowStorage"/>), then this service publishes <c>{subject}.deploy</c> with the new rev; every other
/// instance loads the stored flows and deploys them (only changed nodes restart). A notification missed while NATS was down
/// is caught up by comparing the stored rev every <see cref="ClusterFlowOptions.CheckInterval"/>.
/// </summary>
public sealed partial class ClusterFlows(FlowService flows, PostgresFlowStorage storage, NatsCluster cluster, IOptions<ClusterOptions> options,
    IOptions<ClusterFlowOptions> flowOptions, TimeProvider time, ILogger<ClusterFlows> logger) : BackgroundService
{
    private readonly SemaphoreSlim _apply = new(1, 1);
    private NatsConnection? _nats;
    private int _pending;

    private string Subject => options.Value.Subject + ".deploy";

    /// <summary>Deploys this instance applied from another one (tests and metrics).</summary>
    public long Applied { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var saved = storage.Saved.Subscribe(rev => _ = AnnounceAsync(rev));
        using var check = time.CreateTimer(_ => _ = ApplyAsync("check", stoppingToken), null, flowOptions.Value.CheckInterval, flowOptions.Value.CheckInterval);
        try
        {
            // NATS down at start: the cluster keeps trying; the stored-rev check keeps this instance's flows current meanwhile.
            var nats = await cluster.ConnectionAsync(stoppingToken).ConfigureAwait(false);
            _nats = nats;
            await using var sub = await nats.SubscribeCoreAsync<string>(Subject, cancellationToken: stoppingToken).ConfigureAwait(false);
            LogListening(cluster.Instance, Subject);
            // A deploy made while this instance was starting is not missed.
            _ = ApplyAsync("start", stoppingToken);
            await foreach (var m in sub.Msgs.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                if (Sender(m.Data) is { } sender && sender != cluster.Instance)
                {
                    _ = ApplyAsync(sender, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _nats = null;
        }
    }

    /// <summary>The instance that deployed, or null for a message that is not a deploy notification.</summary>
    private static string? Sender(string? data)
    {
        try
        {
            return JsonNode.Parse(data ?? "null") is JsonObject o && o["instance"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private async Task AnnounceAsync(string rev)
    {
        if (_nats is not { } nats)
        {
            return;
        }
        try
        {
            await nats.PublishAsync(Subject, new JsonObject { ["instance"] = cluster.Instance, ["rev"] = rev }.ToJsonString()).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException or ObjectDisposedException)
        {
            // The others catch up at their next check.
            LogAnnounceFailed(rev, ex.Message);
        }
    }

    /// <summary>Deploys the stored flows if they changed. Notifications arriving meanwhile coalesce into one more pass.</summary>
    private async Task ApplyAsync(string from, CancellationToken ct)
    {
        if (Interlocked.Increment(ref _pending) > 2)
        {
            Interlocked.Decrement(ref _pending);
            return;
        }
        try
        {
            await _apply.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (from == "check" && await storage.StoredRevAsync(ct).ConfigureAwait(false) is { } stored && stored == flows.Rev)
                {
                    return;
                }
                if (await flows.ApplyStoredAsync(DeployType.Nodes, ct).ConfigureAwait(false) is { } result)
                {
                    Applied++;
                    LogApplied(result.Rev, from);
                }
            }
            finally
            {
                _apply.Release();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // A deploy that fails here (store down, invalid flows) must not end the service: the next notification or check retries.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogApplyFailed(ex, from);
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster: instance {Instance} follows deploys on {Subject}")]
    private partial void LogListening(string instance, string subject);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster: flows rev {Rev} applied (deployed through {From})")]
    private partial void LogApplied(string rev, string from);

    [LoggerMessage(Level = LogLevel.Error, Message = "Cluster: the flows deployed through {From} could not be applied here")]
    private partial void LogApplyFailed(Exception ex, string from);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: deploy of rev {Rev} not announced ({Reason})")]
    private partial void LogAnnounceFailed(string rev, string reason);
}

/// <summary>Section <c>Cluster</c>: how flows run in a cluster.</summary>
public sealed class ClusterFlowOptions
{
    /// <summary>How long a scheduled node's lease lasts (<c>Cluster:LeaseSeconds</c>); a dead holder's nodes move within about 1⅓ of it.</summary>
    public double LeaseSeconds { get; set; } = 10;

    /// <summary>How often the stored rev is compared with the running one, for a missed notification (<c>Cluster:FlowCheckSeconds</c>).</summary>
    public double FlowCheckSeconds { get; set; } = 30;

    public TimeSpan CheckInterval => TimeSpan.FromSeconds(Math.Max(1, FlowCheckSeconds));
}
