using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Cluster;
using FlowFleet.Fleet.Tests;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Nodes.Fleet.Tests;

/// <summary>
/// <c>shelly in</c> in a cluster (a real nats-server): by default a device's events run the flow on the instance holding the
/// device only, so the same flow on every instance runs each event once; "Whole cluster" also takes the other instances'.
/// </summary>
public sealed class ShellyInClusterTests
{
    [Fact]
    public async Task Events_of_a_device_on_another_instance_run_only_nodes_that_ask_for_the_whole_cluster()
    {
        await using var nats = await NatsServer.StartAsync();
        var subject = "ff" + Guid.NewGuid().ToString("N")[..6];
        Action<IServiceCollection> Join(string name) => s => s.AddFleetCluster(o => { o.Nats = nats.Url; o.Instance = name; o.Subject = subject; });
        // B runs the flow and holds one device; A holds another.
        await using var rig = await FleetFlow.StartAsync("""{"type":"shelly in","targetType":"all","events":"status","component":"switch:0","everywhere":true}""",
            extra: """{"id":"n2","type":"shelly in","z":"t","targetType":"all","events":"status","component":"switch:0","x":0,"y":0,"wires":[["local"]]},{"id":"local","type":"helper","z":"t","x":0,"y":0,"wires":[]}""",
            hostServices: Join("b"));
        await using var a = await FleetHost.StartAsync(services: Join("a"));
        await a.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(10));
        await rig.Host.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(10));
        await using var onA = new SimFleet(a.ShellyUrl, 1, "plus1pm", FleetHost.FastSim, firstIndex: 50);
        await onA.StartAsync();
        var remote = onA.Devices.Single();
        await Poll.UntilAsync(() => rig.Host.Hub.InstanceOf(remote.Id) == "a", "B learns that A holds the device");

        // The device on A switches: the whole-cluster node runs on B with msg.instance naming A.
        remote.Call("Switch.Set", new() { ["id"] = 0, ["on"] = true }, "button");
        var msg = await rig.OutAsync();
        while (msg.Data["topic"]!.GetValue<string>() != remote.Id || msg.Payload!["switch:0"]?["output"]?.GetValue<bool>() != true)
        {
            msg = await rig.OutAsync();
        }
        Assert.Equal("a", msg.Data["instance"]!.GetValue<string>());

        // Then B's own device switches: up to that change the default node ran only for B's device — never for A's, whose
        // change reached B before this one.
        var local = rig.Fleet.Devices.Single();
        local.Call("Switch.Set", new() { ["id"] = 0, ["on"] = true }, "button");
        Runtime.Messages.FlowMessage mine;
        do
        {
            mine = await rig.Flow.NextAsync("local");
            Assert.Equal(local.Id, mine.Data["topic"]!.GetValue<string>());
        }
        while (mine.Payload!["switch:0"]?["output"]?.GetValue<bool>() != true);
        // Reports from before B joined the cluster carry no instance; this one names B.
        Assert.Equal("b", mine.Data["instance"]!.GetValue<string>());
    }
}
