using System.Text.Json.Nodes;
using FlowFleet.Fleet.Ble;
using FlowFleet.Fleet.Ble.BlueZ;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.Fleet.Tests.Ble;

/// <summary>The BlueZ adapter against a real dbus-daemon with dbusmock's bluez5 template and an emulated Shelly GATT service.</summary>
public sealed class BlueZAdapterTests
{
    [Fact]
    public async Task Scan_sees_the_shelly_advertisement_and_rpc_round_trips_over_gatt()
    {
        await using var bluez = await DBusMockBlueZ.StartAsync();
        var adapter = new BlueZAdapter("hci0", bluez.Address);
        await adapter.InitializeAsync();
        Assert.Equal(BleAdapterState.Ready, adapter.Status.State);
        await using var ble = new BleService([adapter]);
        await ble.StartScanAsync();
        Assert.True(await bluez.DiscoveringAsync());
        Assert.Equal(BleAdapterState.Scanning, adapter.Status.State);

        var path = await bluez.AddShellyAsync("C0:49:EF:88:73:EA", "C049EF8873E8", -48);
        await Poll.UntilAsync(() => ble.InRange() is [{ Info.ModelId: 0x1001 }], "the advertisement with Shelly data");
        var device = ble.InRange()[0];
        Assert.Equal("C0:49:EF:88:73:E8", device.Info.Mac);
        Assert.Equal(ShellyBleFlags.Discoverable | ShellyBleFlags.RpcEnabled, device.Info.Flags);
        Assert.Equal(-48, device.Best!.Rssi);
        Assert.Equal("hci0", device.Best.Adapter);

        var (info, via) = await ble.CallAsync(device.Address, "Shelly.GetDeviceInfo", null);
        Assert.Equal("shellyplus1pm-c049ef8873e8", info!["id"]!.GetValue<string>());
        Assert.Equal("hci0", via);
        var payload = new JsonObject { ["text"] = new string('s', 300), ["n"] = 42 };
        var notified = await ble.WithDeviceAsync(device.Address, null, async (rpc, _) =>
        {
            var echo = await rpc.CallAsync("Test.Echo", payload);
            Assert.True(JsonNode.DeepEquals(payload, echo));
            var ex = await Assert.ThrowsAsync<ShellyRpcException>(() => rpc.CallAsync("Nope.Method"));
            Assert.Equal(404, ex.Code);
            return rpc.Notifying;
        });
        Assert.True(notified);
        Assert.Equal(["Shelly.GetDeviceInfo", "Test.Echo", "Nope.Method"], await bluez.CallsAsync(path));

        await ble.StopScanAsync();
        Assert.False(await bluez.DiscoveringAsync());
        await adapter.DisposeAsync();
    }

    [Theory]
    [InlineData("unix:path=/nonexistent/a", "/nonexistent/a")]
    [InlineData("unix:path=/nonexistent/a%20b;unix:path=/nonexistent/c", "/nonexistent/a b")]
    [InlineData("unix:path=/nonexistent/a;unix:abstract=/tmp/dbus-x", null)]
    [InlineData("unix:abstract=/tmp/dbus-x", null)]
    [InlineData("tcp:host=127.0.0.1,port=1", null)]
    [InlineData("unix:path=/etc/passwd", null)]
    public void A_bus_address_with_no_socket_file_is_not_connected_to(string address, string? missing) =>
        Assert.Equal(missing, BlueZAdapter.MissingSocket(address));

    [Fact]
    public async Task No_bus_no_bluez_or_no_adapter_is_a_clear_status_not_a_crash()
    {
        await using (var noBus = new BlueZAdapter("hci0", "unix:path=/nonexistent/flowfleet-bus"))
        {
            await noBus.InitializeAsync();
            Assert.Equal(BleAdapterState.Unavailable, noBus.Status.State);
            Assert.Equal("no system D-Bus (no socket at /nonexistent/flowfleet-bus)", noBus.Status.Detail);
            var ex = await Assert.ThrowsAsync<BleException>(() => noBus.StartScanAsync());
            Assert.Contains("Unavailable", ex.Message, StringComparison.Ordinal);
            await using var ble = new BleService([noBus]);
            await ble.StartScanAsync();
            Assert.False(ble.Adapters[0].Status.Usable);
        }
        await using (var bare = await DBusDaemon.StartAsync())
        {
            await using var noBlueZ = new BlueZAdapter("hci0", bare.Address);
            await noBlueZ.InitializeAsync();
            Assert.Equal(BleAdapterState.Unavailable, noBlueZ.Status.State);
            Assert.Contains("BlueZ (bluetoothd) is not running", noBlueZ.Status.Detail, StringComparison.Ordinal);
        }
        await using var bluez = await DBusMockBlueZ.StartAsync();
        await using var wrong = new BlueZAdapter("hci7", bluez.Address);
        await wrong.InitializeAsync();
        Assert.Equal(BleAdapterState.Unavailable, wrong.Status.State);
        Assert.Equal("no adapter hci7 (found hci0)", wrong.Status.Detail);
    }
}
