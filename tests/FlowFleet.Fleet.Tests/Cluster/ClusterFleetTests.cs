using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Cluster;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Fleet.Tests.Cluster;

/// <summary>
/// Two instances joined through a real nats-server: the status and events of a device on A reach B's subscribers live with
/// the owner named, a device that reconnects to B moves there (A's stale session closed, one owner), errors and timeouts
/// through B match A's.
/// </summary>
public sealed class ClusterFleetTests
{
    [Fact]
    public async Task Status_changes_of_a_device_on_A_reach_B_subscribers_live_with_the_owner_named()
    {
        await using var pair = await ClusterPair.StartAsync();
        var seenOnB = new ConcurrentQueue<DeviceEvent>();
        using var watch = pair.B.Hub.Subscribe(seenOnB.Enqueue);
        await using var fleet = new SimFleet(pair.A.ShellyUrl, 1, "plus1pm", FleetHost.FastSim);
        var sim = fleet.Devices.Single();
        await fleet.StartAsync();
        await Poll.UntilAsync(() => seenOnB.Any(e => e.Kind == DeviceEventKind.Connect && e.DeviceId == sim.Id), "B raises the device's connect");
        Assert.Equal("a", seenOnB.First(e => e.Kind == DeviceEventKind.Connect).Instance);
        Assert.Equal(("a", "a"), (pair.A.Hub.InstanceOf(sim.Id), pair.B.Hub.InstanceOf(sim.Id)));
        // The announcement carries the device's whole status, info and config: B shows it without asking A.
        var mirrored = pair.B.Devices.Get(sim.Id)!;
        Assert.False(JsonRead.Bool(mirrored.StatusOf("switch:0").Field("output")));
        Assert.Equal(sim.Id, JsonRead.Text(mirrored.Info.Field("id")));
        Assert.NotNull(mirrored.Config?["switch:0"]);

        // The switch turns on at A: B's subscribers get the status delta from A and B's registry shows it.
        await pair.A.Hub.CallAsync(sim.Id, "Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true });
        await Poll.UntilAsync(() => seenOnB.Any(e => e.Kind == DeviceEventKind.Status && JsonRead.Bool(e.Data.Field("switch:0").Field("output")) == true),
            "B raises the status change");
        var change = seenOnB.First(e => e.Kind == DeviceEventKind.Status && JsonRead.Bool(e.Data.Field("switch:0").Field("output")) == true);
        Assert.Equal("a", change.Instance);
        Assert.True(JsonRead.Bool(pair.B.Devices.Get(sim.Id)!.StatusOf("switch:0").Field("output")));
        Assert.True(pair.ClusterA.Counters.Published > 0);

        // Device events (a button push) come across as events, with their component and name.
        await pair.A.Hub.CallAsync(sim.Id, "Input.Trigger", new JsonObject { ["id"] = 0, ["event_type"] = "single_push" });
        await Poll.UntilAsync(() => seenOnB.Any(e => e.Kind == DeviceEventKind.Event && e.Component == "input:0" && e.Method == "single_push" && e.Instance == "a"),
            "B raises the input event");

        // Both instances see each other, with the devices each holds.
        await Poll.UntilAsync(() => pair.ClusterB.Members.Any(m => m.Instance == "a" && m.Devices == 1), "B's members list shows A holding one device");
        Assert.Equal(["a", "b"], pair.ClusterA.Members.Select(m => m.Instance));
        Assert.True(pair.ClusterA.Members.Single(m => m.Instance == "a").Self);

        // The device leaves: B's subscribers get its disconnect from A.
        await fleet.DisposeAsync();
        await Poll.UntilAsync(() => seenOnB.Any(e => e.Kind == DeviceEventKind.Disconnect && e.DeviceId == sim.Id && e.Instance == "a"), "B raises the disconnect");
        Assert.False(pair.B.Devices.Get(sim.Id)!.Online);
        Assert.Null(pair.B.Hub.InstanceOf(sim.Id));
    }

    [Fact]
    public async Task A_device_that_reconnects_to_B_moves_there_and_A_closes_its_stale_session()
    {
        await using var pair = await ClusterPair.StartAsync();
        const string id = "shellypro2-00000000c1a5";
        await using var onA = await RawDevice.ConnectAsync(pair.A.ShellyUrl, Full(id), Answers(id));
        await Poll.UntilAsync(() => pair.B.Hub.InstanceOf(id) == "a", "B learns that A holds the device");
        var seenOnA = new ConcurrentQueue<DeviceEvent>();
        using var watch = pair.A.Hub.Subscribe(seenOnA.Enqueue);

        // The device shows up at B while its old socket to A is still open (it went through the load balancer again).
        await using var onB = await RawDevice.ConnectAsync(pair.B.ShellyUrl, Full(id), Answers(id));
        Assert.Equal(DeviceHub.ClosedReplaced, await onA.ClosedAsync());
        await Poll.UntilAsync(() => pair.A.Hub.Session(id) is null && pair.A.Hub.InstanceOf(id) == "b", "A dropped its session and names B");
        Assert.True(pair.B.Hub.IsOnline(id));
        Assert.Null(pair.ClusterB.OwnerOf(id));
        Assert.Equal(1, pair.ClusterA.Counters.Moves);
        // A's subscribers saw it leave A and come up at B; A's registry shows it online.
        await Poll.UntilAsync(() => seenOnA.Any(e => e.Kind == DeviceEventKind.Connect && e.Instance == "b"), "A raises the connect at B");
        Assert.Equal([DeviceEventKind.Disconnect, DeviceEventKind.Connect],
            seenOnA.Where(e => e.Kind is DeviceEventKind.Connect or DeviceEventKind.Disconnect).Select(e => e.Kind));
        Assert.True(pair.A.Devices.Get(id)!.Online);

        // A call through A now goes to B's connection, not to the closed one.
        var result = await pair.A.Hub.CallAsync(id, "Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true });
        Assert.False(JsonRead.Bool(result.Field("was_on")));
        Assert.Contains(onB.Requests, r => JsonRead.Text(r["method"]) == "Switch.Set");
        Assert.DoesNotContain(onA.Requests, r => JsonRead.Text(r["method"]) == "Switch.Set");
        // B's status changes reach A now.
        await onB.SendAsync(new JsonObject { ["src"] = id, ["method"] = "NotifyStatus", ["params"] = new JsonObject { ["ts"] = 3.0, ["switch:0"] = new JsonObject { ["output"] = true } } }.ToJsonString());
        await Poll.UntilAsync(() => JsonRead.Bool(pair.A.Devices.Get(id)!.StatusOf("switch:0").Field("output")) == true, "A mirrors B's status");
    }

    [Fact]
    public async Task A_timeout_and_a_device_error_through_B_match_the_local_ones()
    {
        await using var pair = await ClusterPair.StartAsync(fleet: o => o.RpcTimeout = TimeSpan.FromMilliseconds(600));
        const string id = "shellypro2-00000000d0d0";
        await using var device = await RawDevice.ConnectAsync(pair.A.ShellyUrl, Full(id), Answers(id));
        await Poll.UntilAsync(() => pair.B.Hub.InstanceOf(id) == "a", "B learns that A holds the device");

        // Switch.Toggle is never answered: -104 after the timeout, in the same words on both instances.
        var local = await Assert.ThrowsAsync<ShellyRpcException>(() => pair.A.Hub.CallAsync(id, "Switch.Toggle", new JsonObject { ["id"] = 0 }));
        var remote = await Assert.ThrowsAsync<ShellyRpcException>(() => pair.B.Hub.CallAsync(id, "Switch.Toggle", new JsonObject { ["id"] = 0 }));
        Assert.Equal(ShellyRpcException.DeadlineExceeded, local.Code);
        Assert.Equal((local.Code, local.Message, local.FromDevice), (remote.Code, remote.Message, remote.FromDevice));

        // The device's own error (404 for an unknown method) passes through unchanged.
        var localError = await Assert.ThrowsAsync<ShellyRpcException>(() => pair.A.Hub.CallAsync(id, "Nope.Nothing"));
        var remoteError = await Assert.ThrowsAsync<ShellyRpcException>(() => pair.B.Hub.CallAsync(id, "Nope.Nothing"));
        Assert.Equal((404, true), (localError.Code, localError.FromDevice));
        Assert.Equal((localError.Code, localError.Message, localError.FromDevice), (remoteError.Code, remoteError.Message, remoteError.FromDevice));
    }

    [Fact]
    public async Task An_instance_that_goes_silent_leaves_the_members_and_its_devices_show_offline()
    {
        await using var nats = await NatsServer.StartAsync();
        var subject = "ff" + Guid.NewGuid().ToString("N")[..6];
        await using var b = await FleetHost.StartAsync(services: s => s.AddFleetCluster(o =>
        {
            o.Nats = nats.Url;
            o.Instance = "b";
            o.Subject = subject;
            o.Heartbeat = TimeSpan.FromMilliseconds(200);
        }));
        var cluster = b.Services.GetRequiredService<NatsCluster>();
        await cluster.Ready.WaitAsync(TimeSpan.FromSeconds(10));
        var seen = new ConcurrentQueue<DeviceEvent>();
        using var watch = b.Hub.Subscribe(seen.Enqueue);

        // An instance "ghost" (a bare NATS client speaking the protocol) beats once and announces a device, then is killed.
        await using (var ghost = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = nats.Url }))
        {
            await ghost.PublishAsync($"{subject}.beat", System.Text.Encoding.UTF8.GetBytes("""{"instance":"ghost","devices":1}"""));
            await ghost.PublishAsync($"{subject}.dev.ghost", System.Text.Encoding.UTF8.GetBytes(
                """{"kind":"own","instance":"ghost","device":"shellyplus1-00000000aaaa","online":true,"fresh":true,"since":1,"model":"SNSW-001X16EU","status":{"switch:0":{"output":true}}}"""));
            await Poll.UntilAsync(() => cluster.OwnerOf("shellyplus1-00000000aaaa") == "ghost", "B mirrors the ghost's device");
        }
        Assert.Contains(cluster.Members, m => m.Instance == "ghost" && m.Devices == 1);
        Assert.True(b.Devices.Get("shellyplus1-00000000aaaa")!.Online);

        // No more beats: after three heartbeats B drops it and the device shows offline, with a disconnect for subscribers.
        await Poll.UntilAsync(() => cluster.Members.All(m => m.Instance != "ghost") && seen.Any(e => e.Kind == DeviceEventKind.Disconnect && e.Instance == "ghost"),
            "B forgets the silent instance");
        Assert.False(b.Devices.Get("shellyplus1-00000000aaaa")!.Online);
        Assert.Null(cluster.OwnerOf("shellyplus1-00000000aaaa"));
        var offline = await Assert.ThrowsAsync<ShellyRpcException>(() => b.Hub.CallAsync("shellyplus1-00000000aaaa", "Shelly.GetStatus"));
        Assert.Equal((ShellyRpcException.Unavailable, "Device shellyplus1-00000000aaaa is offline"), (offline.Code, offline.Message));
    }

    private static string Full(string id) => new JsonObject
    {
        ["src"] = id, ["method"] = "NotifyFullStatus",
        ["params"] = new JsonObject { ["ts"] = 1.5, ["sys"] = new JsonObject { ["cfg_rev"] = 1 }, ["switch:0"] = new JsonObject { ["id"] = 0, ["output"] = false } },
    }.ToJsonString();

    /// <summary>Answers like a Pro device; Switch.Set is answered, Switch.Toggle never is.</summary>
    private static Func<JsonObject, string?> Answers(string id) => request => request["method"]!.GetValue<string>() switch
    {
        "Shelly.GetDeviceInfo" => RawDevice.Result(request, id, RawDevice.Info(id)),
        "Shelly.GetConfig" => RawDevice.Result(request, id, new JsonObject { ["switch:0"] = new JsonObject { ["id"] = 0, ["name"] = "Heater" } }),
        "Shelly.GetStatus" => RawDevice.Result(request, id, new JsonObject { ["sys"] = new JsonObject { ["cfg_rev"] = 1 }, ["switch:0"] = new JsonObject { ["id"] = 0, ["output"] = false } }),
        "Shelly.ListMethods" => RawDevice.Result(request, id, new JsonObject { ["methods"] = new JsonArray("Shelly.GetConfig", "Switch.Set", "Switch.Toggle") }),
        "Switch.Set" => RawDevice.Result(request, id, new JsonObject { ["was_on"] = false }),
        "Switch.Toggle" => null,
        _ => RawDevice.Error(request, id, 404, "No handler for " + request["method"]),
    };
}
