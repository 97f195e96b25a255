using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Cluster;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;

namespace FlowFleet.Fleet.Tests.Cluster;

/// <summary>
/// The batched fan-out through a real nats-server: a device changing fast on A ends on its last state in B's mirror; many
/// devices travel in few messages; a batch that never arrived makes B ask A to resend; calls in flight when a device moves
/// fail as a local disconnect does, and calls after it follow the device.
/// </summary>
public sealed class ClusterFanoutTests
{
    private static string Full(string id) => new JsonObject
    {
        ["src"] = id, ["method"] = "NotifyFullStatus",
        ["params"] = new JsonObject { ["ts"] = 1.5, ["sys"] = new JsonObject { ["cfg_rev"] = 1 }, ["switch:0"] = new JsonObject { ["id"] = 0, ["output"] = false, ["apower"] = 0 } },
    }.ToJsonString();

    private static string Notify(string id, int n) => new JsonObject
    {
        ["src"] = id, ["method"] = "NotifyStatus",
        ["params"] = new JsonObject { ["ts"] = 2.0 + n, ["switch:0"] = new JsonObject { ["apower"] = n, ["output"] = n % 2 == 1 } },
    }.ToJsonString();

    /// <summary>Answers like a Pro device; Switch.Toggle is never answered (a call stays in flight).</summary>
    private static Func<JsonObject, string?> Answers(string id) => request => request["method"]!.GetValue<string>() switch
    {
        "Shelly.GetDeviceInfo" => RawDevice.Result(request, id, RawDevice.Info(id)),
        "Shelly.GetConfig" => RawDevice.Result(request, id, new JsonObject { ["switch:0"] = new JsonObject { ["id"] = 0 } }),
        "Shelly.GetStatus" => RawDevice.Result(request, id, new JsonObject { ["sys"] = new JsonObject { ["cfg_rev"] = 1 }, ["switch:0"] = new JsonObject { ["id"] = 0, ["output"] = false, ["apower"] = 0 } }),
        "Switch.Set" => RawDevice.Result(request, id, new JsonObject { ["was_on"] = false }),
        "Switch.Toggle" => null,
        _ => RawDevice.Error(request, id, 404, "No handler for " + request["method"]),
    };

    private static double? Power(FleetHost host, string id) => JsonRead.Number(host.Devices.Get(id)?.StatusOf("switch:0").Field("apower"));

    /// <summary>
    /// One instance on its own nats-server and subject with its cluster ready, and "ghost": a bare NATS connection that
    /// speaks the fan-out protocol as another instance would, so a test can leave batches out deterministically.
    /// </summary>
    private sealed class GhostRig : IAsyncDisposable
    {
        private NatsServer? _nats;

        public string Subject { get; } = "ff" + Guid.NewGuid().ToString("N")[..6];

        public FleetHost Host { get; private set; } = null!;

        public NatsCluster Cluster { get; private set; } = null!;

        public NatsConnection Ghost { get; private set; } = null!;

        public static async Task<GhostRig> StartAsync(string instance, TimeSpan? heartbeat = null)
        {
            var rig = new GhostRig();
            try
            {
                rig._nats = await NatsServer.StartAsync();
                var url = rig._nats.Url;
                rig.Host = await FleetHost.StartAsync(services: s => s.AddFleetCluster(o =>
                {
                    (o.Nats, o.Instance, o.Subject) = (url, instance, rig.Subject);
                    if (heartbeat is { } beat)
                    {
                        o.Heartbeat = beat;
                    }
                }));
                rig.Cluster = rig.Host.Services.GetRequiredService<NatsCluster>();
                await rig.Cluster.Ready.WaitAsync(TimeSpan.FromSeconds(10));
                rig.Ghost = new NatsConnection(new NatsOpts { Url = url });
                return rig;
            }
            catch
            {
                await rig.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Ghost is not null)
            {
                await Ghost.DisposeAsync();
            }
            if (Host is not null)
            {
                await Host.DisposeAsync();
            }
            if (_nats is not null)
            {
                await _nats.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_device_changing_fast_on_A_ends_on_its_last_state_in_B_mirror()
    {
        await using var pair = await ClusterPair.StartAsync();
        const string id = "shellypro2-00000000fa57";
        await using var device = await RawDevice.ConnectAsync(pair.A.ShellyUrl, Full(id), Answers(id));
        await Poll.UntilAsync(() => pair.B.Hub.InstanceOf(id) == "a", "B learns that A holds the device");

        // 400 changes as fast as the socket takes them: power counts up, the output flips each time.
        for (var n = 1; n <= 400; n++)
        {
            await device.SendAsync(Notify(id, n));
        }
        await Poll.UntilAsync(() => Power(pair.A, id) == 400, "A takes every frame");
        await Poll.UntilAsync(() => Power(pair.B, id) == 400, "B's mirror reaches the last state");
        Assert.False(JsonRead.Bool(pair.B.Devices.Get(id)!.StatusOf("switch:0").Field("output")));
        // Fewer messages than changes went out (merged per device, batched), and nothing was dropped or lost on the way.
        var (batches, _, dropped, failures, _, _) = pair.ClusterA.Fanout;
        Assert.InRange(batches, 1, 399);
        Assert.Equal((0L, 0L, 0L), (dropped, failures, pair.ClusterB.Fanout.Lost));
    }

    [Fact]
    public async Task Many_devices_travel_in_few_batches_and_every_one_is_mirrored_on_its_last_state()
    {
        // Small batches, so one flush is split over several NATS messages.
        await using var pair = await ClusterPair.StartAsync(o => o.FanoutBatchBytes = 4096);
        var ids = Enumerable.Range(0, 40).Select(i => $"shellypro2-0000000b{i:x4}").ToArray();
        var devices = new List<RawDevice>();
        try
        {
            // The sender is held while every device connects and reports twice, so one flush carries them all.
            var before = pair.ClusterA.Fanout.Batches;
            using (pair.ClusterA.HoldFanout())
            {
                foreach (var id in ids)
                {
                    devices.Add(await RawDevice.ConnectAsync(pair.A.ShellyUrl, Full(id), Answers(id)));
                }
                // The hub reads each new device (info, config, status, methods, in turn) before its reports count.
                await Poll.UntilAsync(() => devices.All(d => d.Requests.Any(r => JsonRead.Text(r["method"]) == "Shelly.ListMethods")), "A has read every device");
                for (var i = 0; i < ids.Length; i++)
                {
                    await devices[i].SendAsync(Notify(ids[i], 1));
                    await devices[i].SendAsync(Notify(ids[i], 2));
                }
                await Poll.UntilAsync(() => ids.All(id => Power(pair.A, id) == 2), "A takes every device's status");
                Assert.DoesNotContain(ids, id => pair.B.Hub.InstanceOf(id) is not null);
            }
            await Poll.UntilAsync(() => ids.All(id => pair.B.Hub.InstanceOf(id) == "a" && Power(pair.B, id) == 2), "B mirrors every device on its last state");
            Assert.All(ids, id => Assert.False(JsonRead.Bool(pair.B.Devices.Get(id)!.StatusOf("switch:0").Field("output"))));
            // 40 announcements and 40 merged deltas (each device's two): about 40 KiB in 4 KiB batches, not 80 messages.
            var batches = pair.ClusterA.Fanout.Batches - before;
            Assert.InRange(batches, 2, 30);
            Assert.True(pair.ClusterA.Fanout.Coalesced >= 40);
            Assert.Equal(0L, pair.ClusterB.Fanout.Lost);
        }
        finally
        {
            foreach (var d in devices)
            {
                await d.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_batch_that_never_arrived_is_counted_and_the_owner_is_asked_to_resend()
    {
        await using var rig = await GhostRig.StartAsync("b");
        var (subject, b, cluster, ghost) = (rig.Subject, rig.Host, rig.Cluster, rig.Ghost);

        // "ghost" speaks the protocol: batches 1 and 2 arrive, 3 and 4 do not, 5 does.
        await using var resync = await ghost.SubscribeCoreAsync<string>($"{subject}.resync.ghost");
        const string id = "shellyplus1-00000000abcd";
        Task Batch(int seq, string items) => ghost.PublishAsync($"{subject}.dev.ghost", Encoding.UTF8.GetBytes($$"""{"instance":"ghost","seq":{{seq}},"items":[{{items}}]}""")).AsTask();
        await Batch(1, """{"kind":"own","device":"ID","online":true,"fresh":true,"since":1,"status":{"switch:0":{"apower":1}}}""".Replace("ID", id, StringComparison.Ordinal));
        await Batch(2, """{"kind":"status","device":"ID","ts":2,"data":{"switch:0":{"apower":2}}}""".Replace("ID", id, StringComparison.Ordinal));
        await Poll.UntilAsync(() => Power(b, id) == 2, "B applies batches 1 and 2");
        Assert.Equal(0L, cluster.Fanout.Lost);

        await Batch(5, """{"kind":"status","device":"ID","ts":5,"data":{"switch:0":{"apower":5}}}""".Replace("ID", id, StringComparison.Ordinal));
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // B has everything from batch 5 on.
        var asked = JsonNode.Parse((await resync.Msgs.ReadAsync(wait.Token)).Data!)!;
        Assert.Equal(("b", 5L), ((string?)asked["instance"], (long?)asked["after"]));
        Assert.Equal(2L, cluster.Fanout.Lost);
        Assert.Equal(5, Power(b, id));
    }

    [Fact]
    public async Task A_first_batch_that_never_arrived_makes_B_ask_the_owner_to_resend()
    {
        await using var rig = await GhostRig.StartAsync("b");
        var (subject, b, cluster, ghost) = (rig.Subject, rig.Host, rig.Cluster, rig.Ghost);
        await using var resync = await ghost.SubscribeCoreAsync<string>($"{subject}.resync.ghost");
        const string lost = "shellyplus1-00000000f001", second = "shellyplus1-00000000f002";
        Task Batch(int seq, params string[] ids) => ghost.PublishAsync($"{subject}.dev.ghost", Encoding.UTF8.GetBytes(
            $$"""{"instance":"ghost","run":"r1","seq":{{seq}},"items":[{{string.Join(',', ids.Select(id => $$"""{"kind":"own","device":"{{id}}","online":true,"fresh":false,"since":1}"""))}}]}""")).AsTask();

        // The ghost's first batch (announcing one device) is lost on the way; its second is the first B hears of it.
        await Batch(2, second);
        await Poll.UntilAsync(() => cluster.OwnerOf(second) == "ghost", "B mirrors the device of batch 2");
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var asked = JsonNode.Parse((await resync.Msgs.ReadAsync(wait.Token)).Data!)!;
        Assert.Equal(("b", 2L), ((string?)asked["instance"], (long?)asked["after"]));
        // The owner resends everything it holds; B then knows the device it never heard of. Batches sent before B heard of
        // the instance at all are not counted as lost (a joining instance misses those by design).
        await Batch(3, lost, second);
        await Poll.UntilAsync(() => cluster.OwnerOf(lost) == "ghost", "B mirrors the device of the lost batch after the resend");
        Assert.Equal(0L, cluster.Fanout.Lost);
    }

    [Fact]
    public async Task Batches_a_beat_says_were_sent_but_never_arrived_make_B_ask_the_owner_to_resend()
    {
        await using var rig = await GhostRig.StartAsync("b");
        var (subject, b, cluster, ghost) = (rig.Subject, rig.Host, rig.Cluster, rig.Ghost);
        await using var resync = await ghost.SubscribeCoreAsync<string>($"{subject}.resync.ghost");

        // The ghost sent batch 1 (its only one: its devices are quiet) and it never arrived; its beats say so. The first beat
        // may overtake a batch in flight, so B asks only when the next beat finds it still missing.
        Task Beat() => ghost.PublishAsync($"{subject}.beat", Encoding.UTF8.GetBytes("""{"instance":"ghost","run":"r1","seq":1,"devices":1}""")).AsTask();
        await Beat();
        await Poll.UntilAsync(() => cluster.Members.Any(m => m.Instance == "ghost"), "B hears the ghost's beat");
        await Beat();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var asked = JsonNode.Parse((await resync.Msgs.ReadAsync(wait.Token)).Data!)!;
        Assert.Equal(("b", 2L), ((string?)asked["instance"], (long?)asked["after"]));
    }

    [Fact]
    public async Task The_owner_resends_its_devices_unless_an_announcement_already_follows_what_the_asker_missed()
    {
        await using var rig = await GhostRig.StartAsync("a");
        var (subject, a, cluster, ghost) = (rig.Subject, rig.Host, rig.Cluster, rig.Ghost);
        await using var batches = await ghost.SubscribeCoreAsync<byte[]>($"{subject}.dev.a");
        const string id = "shellypro2-00000000a5e1";
        await using var device = await RawDevice.ConnectAsync(a.ShellyUrl, Full(id), Answers(id));
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        async Task NextAnnouncementAsync(bool fresh)
        {
            while (true)
            {
                var batch = JsonNode.Parse((await batches.Msgs.ReadAsync(wait.Token)).Data!)!;
                if (batch["items"]!.AsArray().Any(i => (string?)i!["kind"] == "own" && (string?)i["device"] == id && (bool?)i["online"] == true && (bool?)i["fresh"] == fresh))
                {
                    return;
                }
            }
        }
        await NextAnnouncementAsync(fresh: true);
        Task Ask(string who, long after) => ghost.PublishAsync($"{subject}.resync.a", new JsonObject { ["instance"] = who, ["after"] = after }.ToJsonString()).AsTask();

        // One asker missed everything: A queues every device it holds, to go out after batch N.
        await Ask("g1", 1_000_000);
        await Poll.UntilAsync(() => cluster.Resyncs == (1, 1), "A serves the first request");
        var n = cluster.AnnouncedAt;
        // Two more miss nothing the announcement does not cover (they have everything from N+1 or N on): no second resend.
        // A fourth misses batch N+1 itself: it gets one.
        await Ask("g2", n + 1);
        await Ask("g3", n);
        await Ask("g4", n + 2);
        await Poll.UntilAsync(() => cluster.Resyncs.Asked == 4, "A reads every request");
        Assert.Equal(2L, cluster.Resyncs.Served);
        // The resend is the device's whole announcement (not fresh: the session did not change).
        await NextAnnouncementAsync(fresh: false);
    }

    [Fact]
    public async Task An_instance_heard_again_after_going_silent_is_asked_to_resend_its_devices()
    {
        await using var rig = await GhostRig.StartAsync("b", TimeSpan.FromMilliseconds(200));
        var (subject, b, cluster, ghost) = (rig.Subject, rig.Host, rig.Cluster, rig.Ghost);
        await using var resync = await ghost.SubscribeCoreAsync<string>($"{subject}.resync.ghost");
        const string id = "shellyplus1-00000000beef";
        await ghost.PublishAsync($"{subject}.beat", Encoding.UTF8.GetBytes("""{"instance":"ghost","devices":1}"""));
        await ghost.PublishAsync($"{subject}.dev.ghost", Encoding.UTF8.GetBytes(
            """{"instance":"ghost","seq":1,"items":[{"kind":"own","device":"ID","online":true,"fresh":true,"since":1}]}""".Replace("ID", id, StringComparison.Ordinal)));
        await Poll.UntilAsync(() => cluster.OwnerOf(id) == "ghost", "B mirrors the ghost's device");

        // Silent (starved, or cut off) for three beats: B forgets its device. Then it beats again, still holding it.
        await Poll.UntilAsync(() => cluster.OwnerOf(id) is null && cluster.Members.All(m => m.Instance != "ghost"), "B forgets the silent instance");
        await ghost.PublishAsync($"{subject}.beat", Encoding.UTF8.GetBytes("""{"instance":"ghost","devices":1}"""));
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // B forgot what batch 1 said; it keeps what comes from batch 2 on.
        var asked = JsonNode.Parse((await resync.Msgs.ReadAsync(wait.Token)).Data!)!;
        Assert.Equal(("b", 2L), ((string?)asked["instance"], (long?)asked["after"]));
    }

    [Fact]
    public async Task Calls_in_flight_when_a_device_moves_fail_as_a_local_disconnect_and_later_calls_follow_it()
    {
        await using var pair = await ClusterPair.StartAsync(fleet: o => o.RpcTimeout = TimeSpan.FromSeconds(30));
        const string id = "shellypro2-00000000a0e5";

        // The reference: a call in flight on A when the device simply disconnects from A.
        var first = await RawDevice.ConnectAsync(pair.A.ShellyUrl, Full(id), Answers(id));
        await Poll.UntilAsync(() => pair.B.Hub.InstanceOf(id) == "a", "B learns that A holds the device");
        var plain = pair.A.Hub.CallAsync(id, "Switch.Toggle", new JsonObject { ["id"] = 0 });
        await Poll.UntilAsync(() => first.Requests.Any(r => JsonRead.Text(r["method"]) == "Switch.Toggle"), "the device got the call");
        await first.DisposeAsync();
        var disconnected = await Assert.ThrowsAsync<ShellyRpcException>(() => plain);
        Assert.Equal(ShellyRpcException.Unavailable, disconnected.Code);
        await Poll.UntilAsync(() => pair.B.Hub.InstanceOf(id) is null, "B learns that the device left A");

        // Back on A, with one call in flight through A (local) and one through B (over NATS to A).
        await using var onA = await RawDevice.ConnectAsync(pair.A.ShellyUrl, Full(id), Answers(id));
        await Poll.UntilAsync(() => pair.A.Hub.IsOnline(id) && pair.B.Hub.InstanceOf(id) == "a", "the device is back on A");
        var local = pair.A.Hub.CallAsync(id, "Switch.Toggle", new JsonObject { ["id"] = 0 });
        var remote = pair.B.Hub.CallAsync(id, "Switch.Toggle", new JsonObject { ["id"] = 0 });
        await Poll.UntilAsync(() => onA.Requests.Count(r => JsonRead.Text(r["method"]) == "Switch.Toggle") == 2, "the device got both calls");

        // It reconnects to B while its socket to A is open: A closes that socket, and both calls fail as the plain one did.
        await using var onB = await RawDevice.ConnectAsync(pair.B.ShellyUrl, Full(id), Answers(id));
        Assert.Equal(DeviceHub.ClosedReplaced, await onA.ClosedAsync());
        var viaA = await Assert.ThrowsAsync<ShellyRpcException>(() => local);
        var viaB = await Assert.ThrowsAsync<ShellyRpcException>(() => remote);
        Assert.Equal((disconnected.Code, disconnected.Message, disconnected.FromDevice), (viaA.Code, viaA.Message, viaA.FromDevice));
        Assert.Equal((disconnected.Code, disconnected.Message, disconnected.FromDevice), (viaB.Code, viaB.Message, viaB.FromDevice));

        // Calls made after the move follow the device to its new socket, through either instance.
        await Poll.UntilAsync(() => pair.A.Hub.InstanceOf(id) == "b", "A names B");
        Assert.False(JsonRead.Bool((await pair.A.Hub.CallAsync(id, "Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true })).Field("was_on")));
        Assert.False(JsonRead.Bool((await pair.B.Hub.CallAsync(id, "Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true })).Field("was_on")));
        Assert.Equal(2, onB.Requests.Count(r => JsonRead.Text(r["method"]) == "Switch.Set"));
        Assert.DoesNotContain(onA.Requests, r => JsonRead.Text(r["method"]) == "Switch.Set");
    }
}
