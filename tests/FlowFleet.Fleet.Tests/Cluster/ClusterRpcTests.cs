using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Cluster;
using FlowFleet.Fleet.Protocol;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Fleet.Tests.Cluster;

/// <summary>Two instances joined through a real nats-server: a device on A is seen and called through B.</summary>
public sealed class ClusterRpcTests
{
    [Fact]
    public async Task Rpc_through_another_instance_reaches_the_device_and_errors_match_a_local_call()
    {
        await using var nats = await NatsServer.StartAsync();
        var subject = "ff" + Guid.NewGuid().ToString("N")[..6];
        void Join(IServiceCollection s, string name) => s.AddFleetCluster(o => { o.Nats = nats.Url; o.Instance = name; o.Subject = subject; });
        await using var a = await FleetHost.StartAsync(services: s => Join(s, "a"));
        await using var b = await FleetHost.StartAsync(services: s => Join(s, "b"));
        await a.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(10));
        await b.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(10));

        await using var fleet = new SimFleet(a.ShellyUrl, 1, "plus1pm", FleetHost.FastSim);
        var sim = fleet.Devices.Single();
        await fleet.StartAsync();
        await Poll.UntilAsync(() => a.Hub.IsOnline(sim.Id), "device online on A");
        await Poll.UntilAsync(() => b.Devices.Get(sim.Id)?.Online == true, "B's registry shows the device online");
        Assert.False(b.Hub.IsOnline(sim.Id));
        Assert.Equal("a", b.Services.GetRequiredService<NatsCluster>().OwnerOf(sim.Id));
        Assert.Equal("SNSW-001P16EU", b.Devices.Get(sim.Id)!.Model);

        // B holds no session for it: the call goes over NATS to A and the device's answer comes back.
        var result = await b.Hub.CallAsync(sim.Id, "Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true });
        Assert.False(result!["was_on"]!.GetValue<bool>());
        Assert.True(sim.Status("switch:0")!["output"]!.GetValue<bool>());

        // The device's own error comes back as it does locally.
        var local = await Assert.ThrowsAsync<ShellyRpcException>(() => a.Hub.CallAsync(sim.Id, "Switch.Set", new JsonObject { ["id"] = 7, ["on"] = true }));
        var remote = await Assert.ThrowsAsync<ShellyRpcException>(() => b.Hub.CallAsync(sim.Id, "Switch.Set", new JsonObject { ["id"] = 7, ["on"] = true }));
        Assert.Equal((local.Code, local.Message, local.FromDevice), (remote.Code, remote.Message, remote.FromDevice));
        Assert.Equal(-105, remote.Code);

        // A device no instance holds: the same error on either instance as in a single process.
        var unknownA = await Assert.ThrowsAsync<ShellyRpcException>(() => a.Hub.CallAsync("shellyplus1pm-nowhere", "Shelly.GetStatus"));
        var unknownB = await Assert.ThrowsAsync<ShellyRpcException>(() => b.Hub.CallAsync("shellyplus1pm-nowhere", "Shelly.GetStatus"));
        Assert.Equal((ShellyRpcException.Unavailable, "Unknown device shellyplus1pm-nowhere"), (unknownA.Code, unknownA.Message));
        Assert.Equal((unknownA.Code, unknownA.Message), (unknownB.Code, unknownB.Message));

        // The device leaves A: B shows it offline and answers as for an offline device, without asking A.
        await fleet.DisposeAsync();
        await Poll.UntilAsync(() => b.Devices.Get(sim.Id)?.Online == false, "B's registry shows the device offline");
        Assert.Null(b.Services.GetRequiredService<NatsCluster>().OwnerOf(sim.Id));
        var offline = await Assert.ThrowsAsync<ShellyRpcException>(() => b.Hub.CallAsync(sim.Id, "Shelly.GetStatus"));
        Assert.Equal((ShellyRpcException.Unavailable, $"Device {sim.Id} is offline"), (offline.Code, offline.Message));
    }

    [Fact]
    public async Task A_late_instance_learns_the_devices_already_connected()
    {
        await using var nats = await NatsServer.StartAsync();
        var subject = "ff" + Guid.NewGuid().ToString("N")[..6];
        await using var a = await FleetHost.StartAsync(services: s => s.AddFleetCluster(o => { o.Nats = nats.Url; o.Instance = "a"; o.Subject = subject; }));
        await a.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(10));
        await using var fleet = new SimFleet(a.ShellyUrl, 2, "plus1pm", FleetHost.FastSim);
        await fleet.StartAsync();
        await Poll.UntilAsync(() => fleet.Devices.All(d => a.Hub.IsOnline(d.Id)), "devices online on A");

        await using var b = await FleetHost.StartAsync(services: s => s.AddFleetCluster(o => { o.Nats = nats.Url; o.Instance = "b"; o.Subject = subject; }));
        await Poll.UntilAsync(() => fleet.Devices.All(d => b.Devices.Get(d.Id)?.Online == true), "B learns A's devices after its hello");
        var status = await b.Hub.CallAsync(fleet.Devices.Last().Id, "Shelly.GetStatus");
        Assert.NotNull(status?["switch:0"]);
    }
}
