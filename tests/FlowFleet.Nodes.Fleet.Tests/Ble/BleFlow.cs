using FlowFleet.DeviceSim.Ble;
using FlowFleet.Fleet.Ble;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Nodes.Fleet.Tests.Ble;

/// <summary>A BLE node under test (see <see cref="FleetFlow"/>) with a simulated adapter and the BLE service and provisioner the server uses.</summary>
public sealed class BleFlow : IAsyncDisposable
{
    private BleFlow(SimBleAdapter adapter, BleService ble, FleetFlow rig)
    {
        Adapter = adapter;
        Ble = ble;
        Rig = rig;
    }

    public SimBleAdapter Adapter { get; }

    public BleService Ble { get; }

    public FleetFlow Rig { get; }

    /// <param name="inRange">Unprovisioned simulated Plus 1PMs in range of the adapter, on Wi-Fi <c>Lab</c> / <c>secret-pass</c>.</param>
    /// <param name="scan">Scan before the flow starts and wait until every device is in range.</param>
    public static async Task<BleFlow> StartAsync(string node, int inRange, bool scan, string extra = "")
    {
        var adapter = new SimBleAdapter();
        adapter.AddUnprovisioned(inRange, profile: "plus1pm", network: ("Lab", "secret-pass"));
        BleService? ble = null;
        var rig = await FleetFlow.StartAsync(node, devices: 0, extra: extra, services: (sc, host) =>
        {
            ble = new BleService([adapter], host.Devices, host.Hub);
            sc.AddSingleton(ble);
            sc.AddSingleton(new BleProvisioner(ble, host.Hub) { DefaultServerUrl = host.ShellyUrl });
        });
        if (scan)
        {
            await ble!.StartScanAsync();
            await Poll.UntilAsync(() => ble.InRange().Count == inRange, $"{inRange} devices in range");
        }
        return new BleFlow(adapter, ble!, rig);
    }

    public SimBleDevice this[int index] => Adapter.Devices[index];

    public async ValueTask DisposeAsync()
    {
        await Rig.DisposeAsync();
        await Ble.DisposeAsync();
        await Adapter.DisposeAsync();
    }
}
