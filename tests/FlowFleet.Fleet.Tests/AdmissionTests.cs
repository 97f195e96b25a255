using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using FlowFleet.Fleet.Rpc;

namespace FlowFleet.Fleet.Tests;

public sealed class AdmissionTests
{
    [Fact]
    public async Task Manual_admission_keeps_new_devices_pending_until_accepted()
    {
        await using var host = await FleetHost.StartAsync(o => o.Admission = "manual");
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "plus1pm", FleetHost.FastSim);
        var sim = fleet.Devices.Single();
        await fleet.StartAsync();
        await Poll.UntilAsync(() => host.Devices.Get(sim.Id)?.Model is not null, "pending device identified");
        var state = host.Devices.Get(sim.Id)!;
        Assert.Equal(AdmissionStates.Pending, state.Admission);
        Assert.False(host.Hub.IsOnline(sim.Id));
        var refused = await Assert.ThrowsAsync<ShellyRpcException>(() => host.Hub.CallAsync(sim.Id, "Switch.Toggle", new JsonObject { ["id"] = 0 }));
        Assert.Equal(ShellyRpcException.Unavailable, refused.Code);

        await host.Hub.AcceptAsync(sim.Id);
        Assert.True(host.Hub.IsOnline(sim.Id));
        Assert.Equal(AdmissionStates.Accepted, host.Devices.Get(sim.Id)!.Admission);
        await host.Hub.CallAsync(sim.Id, "Switch.Toggle", new JsonObject { ["id"] = 0 });
        Assert.True(sim.Status("switch:0")!["output"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Denied_device_is_told_to_stop_connecting()
    {
        await using var host = await FleetHost.StartAsync(o => o.Admission = "manual");
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "plus1pm", FleetHost.FastSim);
        var sim = fleet.Devices.Single();
        await fleet.StartAsync();
        await Poll.UntilAsync(() => host.Devices.Get(sim.Id)?.Model is not null, "pending device");
        await host.Hub.DenyAsync(sim.Id);
        await Poll.UntilAsync(() => sim.OutboundServer is null, "Ws.SetConfig server '#'");
        Assert.Equal("#", sim.Config("ws")!["server"]!.GetValue<string>());
        Assert.False(sim.Config("ws")!["enable"]!.GetValue<bool>());
        await Poll.UntilAsync(() => host.Hub.Session(sim.Id) is null, "disconnected");
        Assert.Equal(AdmissionStates.Denied, host.Devices.Get(sim.Id)!.Admission);
    }

    [Fact]
    public async Task Enrollment_token_admits_at_once_and_a_revoked_one_does_not()
    {
        await using var host = await FleetHost.StartAsync(o => o.Admission = "manual");
        var token = await host.Tokens.CreateTokenAsync("installer");
        await using var good = new SimFleet(host.ShellyUrl + "?token=" + token.Token, 1, "plus1pm", FleetHost.FastSim, firstIndex: 1);
        await good.StartAsync();
        await Poll.UntilAsync(() => host.Hub.IsOnline(good.Devices.Single().Id), "admitted by token");

        Assert.True(await host.Tokens.RevokeTokenAsync(token.Token));
        await using var late = new SimFleet(host.ShellyUrl + "?token=" + token.Token, 1, "plus1pm", FleetHost.FastSim, firstIndex: 2);
        await late.StartAsync();
        await Poll.UntilAsync(() => host.Devices.Get(late.Devices.Single().Id)?.Model is not null, "second device seen");
        Assert.Equal(AdmissionStates.Pending, host.Devices.Get(late.Devices.Single().Id)!.Admission);
        Assert.Equal(1, (await host.Tokens.TokensAsync()).Single().Uses);
    }

    [Fact]
    public async Task Adopting_a_device_by_address_uses_digest_auth_and_points_it_here()
    {
        await using var host = await FleetHost.StartAsync(o => o.Admission = "manual");
        await using var fleet = new SimFleet(null, 1, "plus1pm", FleetHost.FastSim, password: "s3cret!");
        var sim = fleet.Devices.Single();
        await using var local = await LocalRpcServer.StartAsync(fleet.Devices);
        await fleet.StartAsync();
        using var http = new HttpClient();
        var adopter = new DeviceAdopter(host.Devices, http);

        // Shelly.GetDeviceInfo needs no password (as on real devices), so the device is identified and the wrong password
        // reported as such; an address that is not an identified Shelly gets the one generic answer (AdoptProbeTests).
        var wrong = await Assert.ThrowsAsync<ShellyRpcException>(() => adopter.AdoptAsync(local.AddressOf(sim), "nope", host.ShellyUrl));
        Assert.Equal(401, wrong.Code);
        Assert.Null(sim.OutboundServer);

        var id = await adopter.AdoptAsync(local.AddressOf(sim), "s3cret!", host.ShellyUrl);
        Assert.Equal(sim.Id, id);
        Assert.Equal(host.ShellyUrl, sim.OutboundServer);
        await Poll.UntilAsync(() => host.Hub.IsOnline(sim.Id), "adopted device connects after its reboot");
        Assert.Equal("s3cret!", host.Devices.Get(sim.Id)!.Password);
    }
}
