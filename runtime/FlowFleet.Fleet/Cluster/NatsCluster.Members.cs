using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace FlowFleet.Fleet.Cluster;

/// <summary>One instance of the cluster as this one last heard of it.</summary>
public sealed record ClusterMember(string Instance, int Devices, DateTime LastSeen, bool Self);

/// <summary>
/// Membership: every instance beats on <c>{subject}.beat</c> with the number of devices it holds; any message from an
/// instance shows it alive. An instance silent for three beats is gone (killed, or cut off from NATS): it leaves the members
/// list and the devices it held show offline here until they reconnect to a live instance, which announces them.
/// </summary>
public sealed partial class NatsCluster
{
    /// <summary>The meter of the cluster's instruments (the server exports every FlowFleet.* meter).</summary>
    public const string MeterName = "FlowFleet.Cluster";

    private readonly ConcurrentDictionary<string, (long Tick, int Devices)> _members = new(StringComparer.Ordinal);
    private Meter? _meter;

    /// <summary>This instance and every other one heard of within three heartbeats, by name.</summary>
    public IReadOnlyList<ClusterMember> Members
    {
        get
        {
            var now = Environment.TickCount64;
            var list = new List<ClusterMember> { new(Instance, OwnedHere, DateTime.UtcNow, true) };
            foreach (var (name, (tick, devices)) in _members)
            {
                if (now - tick <= Expiry)
                {
                    list.Add(new ClusterMember(name, devices, DateTime.UtcNow.AddMilliseconds(tick - now), false));
                }
            }
            return [.. list.OrderBy(m => m.Instance, StringComparer.Ordinal)];
        }
    }

    private int OwnedHere => hub.OnlineCount;

    /// <summary>This instance's view of the cluster, for <c>/healthz</c>: its name, NATS, the members it sees and the devices held.</summary>
    public JsonObject Describe() => new()
    {
        ["instance"] = Instance, ["connected"] = Connected, ["devicesOwned"] = OwnedHere, ["devicesRemote"] = _owners.Count,
        ["moves"] = Interlocked.Read(ref _moves),
        // What this instance missed of the others and resent for them: the first place to look when a mirror falls short.
        ["fanout"] = new JsonObject
        {
            ["batches"] = Interlocked.Read(ref _batches), ["lost"] = Interlocked.Read(ref _lostBatches), ["queued"] = Queue.Count,
            ["received"] = Interlocked.Read(ref _received), ["resyncsAsked"] = Resyncs.Asked, ["resyncsServed"] = Resyncs.Served,
        },
        ["members"] = new JsonArray(Members.Select(m => (JsonNode)new JsonObject
        {
            ["instance"] = m.Instance, ["devices"] = m.Devices, ["self"] = m.Self,
            ["lastSeen"] = m.LastSeen.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        }).ToArray()),
    };

    private long Expiry => (long)(_options.Heartbeat.TotalMilliseconds * 3);

    // Instances this one declared gone for silence (not those that said they were leaving): heard again, they are asked
    // to resend their devices, which were forgotten here meanwhile (a starved or cut-off instance keeps its devices).
    private readonly ConcurrentDictionary<string, byte> _expired = new(StringComparer.Ordinal);

    private void Seen(string instance)
    {
        _members.AddOrUpdate(instance, static (_, _) => (Environment.TickCount64, 0), static (_, old, _) => (Environment.TickCount64, old.Devices), 0);
        Back(instance);
    }

    private void Back(string instance)
    {
        if (_expired.TryRemove(instance, out _))
        {
            LogMemberBack(instance);
            // Its devices were forgotten here when it went silent; the batches heard since then are applied.
            AskResync(instance, FeedOf(instance).Last + 1);
        }
    }

    private void OnHello(NatsMsg<string> m)
    {
        if (m.Data is not { Length: > 0 } instance || instance == Instance)
        {
            return;
        }
        Seen(instance);
        // A new instance knows nothing yet: tell it who is here and what each holds.
        _ = BeatAsync(false, CancellationToken.None);
        AnnounceAll();
    }

    private void OnBeat(NatsMsg<byte[]> m)
    {
        if (m.Data is not { Length: > 0 } data || JsonNode.Parse(data) is not JsonObject beat
            || JsonRead.Text(beat["instance"]) is not { Length: > 0 } instance || instance == Instance)
        {
            return;
        }
        if (JsonRead.Bool(beat["leaving"]) == true)
        {
            Gone(instance);
            return;
        }
        var devices = (int)(JsonRead.Number(beat["devices"]) ?? 0);
        _members[instance] = (Environment.TickCount64, devices);
        Back(instance);
        if (JsonRead.Number(beat["seq"]) is { } seq)
        {
            CheckBeat(instance, JsonRead.Text(beat["run"]) ?? "", (long)seq);
        }
    }

    private async Task BeatAsync(bool leaving, CancellationToken ct)
    {
        if (_nats is not { } nats)
        {
            return;
        }
        var beat = new JsonObject
        {
            ["instance"] = Instance, ["devices"] = OwnedHere, ["leaving"] = leaving, ["run"] = _run, ["seq"] = Interlocked.Read(ref _sent),
        };
        try
        {
            await nats.PublishAsync(Subject("beat"), System.Text.Encoding.UTF8.GetBytes(beat.ToJsonString()), cancellationToken: ct).ConfigureAwait(false);
        }
        catch (NatsException ex)
        {
            LogPublishFailed(ex.Message);
        }
    }

    private async Task BeatLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(_options.Heartbeat);
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            await BeatAsync(false, ct).ConfigureAwait(false);
            var now = Environment.TickCount64;
            foreach (var (name, (tick, _)) in _members)
            {
                if (now - tick > Expiry)
                {
                    LogMemberLost(name, (now - tick) / 1000.0);
                    _expired[name] = 0;
                    Gone(name);
                }
            }
            RetryResyncs();
        }
    }

    /// <summary>The instance left or went silent: it is no member, and none of its devices is reachable through it.</summary>
    private void Gone(string instance)
    {
        _members.TryRemove(instance, out _);
        DropWaiting(instance);
        foreach (var (id, owner) in _owners)
        {
            if (owner == instance)
            {
                Forget(id, instance);
            }
        }
    }

    /// <summary>
    /// Instruments on the <c>FlowFleet.Cluster</c> meter (the server's <c>/metrics</c> exports every FlowFleet.* meter of its
    /// host): this instance, the members it sees, devices held here and elsewhere, device messages and moves. Every sample
    /// carries the <c>instance</c> tag.
    /// </summary>
    private void CreateInstruments()
    {
        if (meters is null || _meter is not null)
        {
            return;
        }
        var meter = meters.Create(new MeterOptions(MeterName));
        var tag = new KeyValuePair<string, object?>("instance", Instance);
        meter.CreateObservableGauge("flowfleet.cluster.members", () => new Measurement<int>(Members.Count, tag), description: "Cluster instances this one sees alive, itself included");
        meter.CreateObservableGauge("flowfleet.cluster.devices.owned", () => new Measurement<int>(OwnedHere, tag), description: "Devices connected to this instance");
        meter.CreateObservableGauge("flowfleet.cluster.devices.remote", () => new Measurement<int>(_owners.Count, tag), description: "Devices other instances hold");
        meter.CreateObservableGauge("flowfleet.cluster.connected", () => new Measurement<int>(Connected ? 1 : 0, tag), description: "1 while connected to NATS");
        meter.CreateObservableCounter("flowfleet.cluster.messages.published", () => new Measurement<long>(Interlocked.Read(ref _published), tag), description: "Device messages sent to the other instances");
        meter.CreateObservableCounter("flowfleet.cluster.messages.received", () => new Measurement<long>(Interlocked.Read(ref _received), tag), description: "Device messages received from the other instances");
        meter.CreateObservableCounter("flowfleet.cluster.moves", () => new Measurement<long>(Interlocked.Read(ref _moves), tag), description: "Stale sessions closed because their device connected to another instance");
        // The fan-out (NatsCluster.Fanout.cs): batches, updates merged before sending (the latest state won), events dropped
        // from a full device queue or a failed publish, failed publishes (their devices resent whole), and others' batches
        // that never arrived here (sequence gaps; each asks the owner to resend). No loss shows as dropped = lost = 0.
        meter.CreateObservableCounter("flowfleet.cluster.fanout.batches", () => new Measurement<long>(Interlocked.Read(ref _batches), tag), description: "Fan-out batches (many devices per NATS message) published");
        meter.CreateObservableCounter("flowfleet.cluster.fanout.coalesced", () => new Measurement<long>(Queue.Coalesced, tag), description: "Device updates merged into a newer queued one before sending (the latest state wins)");
        meter.CreateObservableCounter("flowfleet.cluster.fanout.dropped", () => new Measurement<long>(Queue.Dropped, tag), description: "Device events dropped from a full per-device queue or with a failed publish");
        meter.CreateObservableCounter("flowfleet.cluster.fanout.failures", () => new Measurement<long>(Interlocked.Read(ref _publishFailures), tag), description: "Fan-out publishes NATS refused (their devices are resent whole)");
        meter.CreateObservableCounter("flowfleet.cluster.fanout.lost", () => new Measurement<long>(Interlocked.Read(ref _lostBatches), tag), description: "Fan-out batches of other instances that did not arrive here (sequence gaps)");
        meter.CreateObservableGauge("flowfleet.cluster.fanout.queued", () => new Measurement<int>(Queue.Count, tag), description: "Device updates waiting to be published");
        // Resend requests (NatsCluster.Sequence.cs): those other instances sent here, and those served (every device queued).
        meter.CreateObservableCounter("flowfleet.cluster.fanout.resyncs.asked", () => new Measurement<long>(Resyncs.Asked, tag), description: "Requests of other instances to resend every device held here");
        meter.CreateObservableCounter("flowfleet.cluster.fanout.resyncs.served", () => new Measurement<long>(Resyncs.Served, tag), description: "Resend requests served (the rest were covered by an announcement already queued)");
        _meter = meter;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: instance {Instance} not heard of for {Seconds:0.#} s; its devices show offline until they reconnect")]
    private partial void LogMemberLost(string instance, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: instance {Instance} is heard again; asked it to resend its devices")]
    private partial void LogMemberBack(string instance);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cluster: device {Id} is held by instance {Instance}")]
    private partial void LogOwned(string id, string instance);
}
