using FlowFleet.DeviceSim;
using FlowFleet.DeviceSim.Ble;
using FlowFleet.Fleet.Ble;

namespace FlowFleet.Fleet.Tests.Ble;

/// <summary>Scanning, the in-range list and provisioning through the simulated adapter onto a real <c>/shelly</c> endpoint.</summary>
public sealed class BleProvisioningTests
{
    [Fact]
    public async Task Provisioned_devices_connect_on_shelly_and_show_as_provisioned()
    {
        await using var host = await FleetHost.StartAsync();
        await using var adapter = new SimBleAdapter();
        var devices = adapter.AddUnprovisioned(3, network: ("Lab", "secret-pass"));
        await using var ble = new BleService([adapter], host.Devices, host.Hub);
        var found = new List<BleDevice>();
        ble.DeviceFound += d => { lock (found) { found.Add(d); } };
        await ble.StartScanAsync();
        await Poll.UntilAsync(() => ble.InRange().Count == 3, "3 devices in range");
        Assert.All(ble.InRange(), d => Assert.False(d.Provisioned));
        Assert.Equal(3, found.Count);
        // Unprovisioned devices stay off the network.
        Assert.Equal(0, host.Hub.OnlineCount);

        var provisioner = new BleProvisioner(ble, host.Hub) { DefaultServerUrl = host.ShellyUrl };
        var steps = new List<BleProvisionProgress>();
        var progress = new SyncProgress(steps);
        var results = await provisioner.ProvisionManyAsync(devices.Select(d => new BleProvisionRequest(d.Address, "Lab", "secret-pass")).ToList(), 2, progress);
        Assert.All(results, r => Assert.True(r.Ok, r.Error));
        Assert.Equal(devices.Select(d => d.Device.Id), results.Select(r => r.DeviceId));
        Assert.All(devices, d => Assert.True(host.Hub.IsOnline(d.Device.Id)));
        foreach (var step in new[] { BleProvisioner.StepInfo, BleProvisioner.StepWifi, BleProvisioner.StepWs, BleProvisioner.StepReboot, BleProvisioner.StepWait, "done" })
        {
            Assert.Equal(3, steps.Count(s => s.Step == step));
        }
        Assert.Equal(host.ShellyUrl, devices[0].Device.OutboundServer);
        Assert.Equal("Lab", devices[0].Device.Config("wifi")!["sta"]!["ssid"]!.GetValue<string>());
        await Poll.UntilAsync(() => ble.InRange().All(d => d.Provisioned && d.Online), "the in-range list knows them");
    }

    [Fact]
    public async Task Wrong_wifi_password_fails_at_the_wait_step_and_bad_input_fails_early()
    {
        await using var host = await FleetHost.StartAsync();
        await using var adapter = new SimBleAdapter();
        var device = adapter.AddUnprovisioned(1, network: ("Lab", "right"))[0];
        await using var ble = new BleService([adapter], host.Devices, host.Hub);
        await ble.StartScanAsync();
        await Poll.UntilAsync(() => ble.InRange().Count == 1, "in range");
        var provisioner = new BleProvisioner(ble, host.Hub) { DefaultServerUrl = host.ShellyUrl };
        var wrong = await provisioner.ProvisionAsync(new BleProvisionRequest(device.Address, "Lab", "wrong") { ConnectTimeout = TimeSpan.FromSeconds(3) });
        Assert.False(wrong.Ok);
        Assert.Equal(BleProvisioner.StepWait, wrong.FailedStep);
        Assert.Contains("did not connect", wrong.Error, StringComparison.Ordinal);
        Assert.False(host.Hub.IsOnline(device.Device.Id));

        var badUrl = await provisioner.ProvisionAsync(new BleProvisionRequest(device.Address, "Lab", "right", "http://nope"));
        Assert.Equal(BleProvisioner.StepWs, badUrl.FailedStep);
        var unknown = await provisioner.ProvisionAsync(new BleProvisionRequest("00:11:22:33:44:55", "Lab", "right"));
        Assert.Equal(BleProvisioner.StepConnect, unknown.FailedStep);
        Assert.Contains("not in range", unknown.Error, StringComparison.Ordinal);

        device.FailWrites = 100;
        var refused = await provisioner.ProvisionAsync(new BleProvisionRequest(device.Address, "Lab", "right"));
        Assert.Equal(BleProvisioner.StepInfo, refused.FailedStep);
        Assert.Contains("GATT write failed", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_adapter_that_hears_a_device_best_carries_its_calls()
    {
        await using var near = new SimBleAdapter("near");
        await using var far = new SimBleAdapter("far");
        var a = near.Add(new SimDevice(SimProfile.Plus1PM, 1, macPrefix: "D00D00"), -40);
        var b = far.Add(new SimDevice(SimProfile.Plus1PM, 1, macPrefix: "D00D00"), -85);
        await using var ble = new BleService([near, far]);
        await ble.StartScanAsync();
        await Poll.UntilAsync(() => ble.InRange() is [{ Sightings.Count: 2 }], "both adapters hear it");
        var d = ble.InRange()[0];
        Assert.Equal("near", d.Best!.Adapter);
        var (_, via) = await ble.CallAsync(d.Address, "Shelly.GetDeviceInfo", null);
        Assert.Equal("near", via);
        Assert.Equal(1, a.Frames);
        Assert.Equal(0, b.Frames);
        var (_, forced) = await ble.CallAsync(d.Address, "Shelly.GetDeviceInfo", null, "far");
        Assert.Equal("far", forced);
        await ble.StopScanAsync();
        Assert.False(ble.Scanning);
    }

    private sealed class SyncProgress(List<BleProvisionProgress> into) : IProgress<BleProvisionProgress>
    {
        public void Report(BleProvisionProgress value)
        {
            lock (into)
            {
                into.Add(value);
            }
        }
    }
}
