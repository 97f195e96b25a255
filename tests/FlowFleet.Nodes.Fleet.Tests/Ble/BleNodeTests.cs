using System.Text.Json.Nodes;

namespace FlowFleet.Nodes.Fleet.Tests.Ble;

/// <summary>The BLE nodes (<c>ble discover</c>, <c>ble rpc</c>, <c>ble provision</c>) against simulated devices over a simulated radio.</summary>
public sealed class BleNodeTests
{
    [Fact]
    public async Task Discover_on_command_reports_each_unprovisioned_device_once_lists_them_and_stops()
    {
        await using var b = await BleFlow.StartAsync("""{"type":"ble discover","scanOnDeploy":false,"unprovisionedOnly":true}""", inRange: 3, scan: false);
        Assert.Equal("not scanning", (await b.Rig.StatusAsync(_ => true))["text"]!.GetValue<string>());
        // Known to this fleet, so provisioned: left out.
        b.Rig.Host.Devices.UpsertExternal(b[0].Device.Id, new JsonObject { ["name"] = "known" });
        b.Rig.Send("""{"payload":"start"}""");
        var found = await b.Rig.Flow.TakeAsync("out", 2);
        Assert.Equal(new[] { b[1].Device.Id, b[2].Device.Id }.Order(), found.Select(m => m.Data["topic"]!.GetValue<string>()).Order());
        Assert.All(found, m => Assert.False(m.Payload!["provisioned"]!.GetValue<bool>()));
        Assert.Equal(b[1].Address, found.Single(m => m.Data["topic"]!.GetValue<string>() == b[1].Device.Id).Payload!["address"]!.GetValue<string>());
        await b.Rig.StatusAsync(t => t == "scanning, 2 found");

        b.Rig.Send("""{"payload":"LIST"}""");
        var list = (await b.Rig.OutAsync()).Payload!.AsArray();
        Assert.Equal(new[] { b[1].Address, b[2].Address }.Order(), list.Select(d => d!["address"]!.GetValue<string>()).Order());

        b.Rig.Send("""{"payload":"stop"}""");
        var stopped = await b.Rig.StatusAsync(t => t == "not scanning");
        Assert.Equal("grey", stopped["fill"]!.GetValue<string>());
        Assert.False(b.Ble.Scanning);
    }

    [Fact]
    public async Task Discover_scans_on_deploy_and_sends_devices_already_in_range()
    {
        await using var b = await BleFlow.StartAsync("""{"type":"ble discover","scanOnDeploy":true,"unprovisionedOnly":false}""", inRange: 2, scan: true);
        var found = await b.Rig.Flow.TakeAsync("out", 2);
        Assert.Equal(new[] { b[0].Address, b[1].Address }.Order(), found.Select(m => m.Payload!["address"]!.GetValue<string>()).Order());
        Assert.True(b.Ble.Scanning);
    }

    [Fact]
    public async Task Rpc_calls_a_device_over_ble_with_method_and_params_from_the_node_or_the_message()
    {
        await using var b = await BleFlow.StartAsync("""{"type":"ble rpc","method":"Shelly.GetDeviceInfo","params":""}""", inRange: 1, scan: true,
            extra: """{"id":"bymsg","type":"ble rpc","z":"t","x":0,"y":0,"method":"","params":"","wires":[["out"]]}""");
        var device = b[0];
        b.Rig.Send($$$"""{"payload":{"address":"{{{device.Address}}}","rssi":-50}}""");
        var info = await b.Rig.OutAsync();
        Assert.Equal(device.Device.Id, info.Payload!["id"]!.GetValue<string>());
        Assert.Equal("sim", info.Data["station"]!.GetValue<string>());
        Assert.Equal(device.Address, info.Data["topic"]!.GetValue<string>());
        await b.Rig.StatusAsync(t => t == "Shelly.GetDeviceInfo ok");

        b.Rig.Flow.SendJson("bymsg", $$$"""{"topic":"{{{device.Address}}}","method":"Switch.Set","params":{"id":0,"on":true}}""");
        Assert.False((await b.Rig.OutAsync()).Payload!["was_on"]!.GetValue<bool>());
        Assert.True(device.Device.Status("switch:0")!["output"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("""{"type":"ble rpc","method":"Shelly.GetDeviceInfo","params":""}""", """{"payload":42}""", "ble rpc: needs a device (msg.payload or msg.topic) and a method")]
    [InlineData("""{"type":"ble rpc","method":"","params":""}""", """{"payload":"ADDR"}""", "ble rpc: needs a device (msg.payload or msg.topic) and a method")]
    [InlineData("""{"type":"ble rpc","method":"Switch.Set","params":"{on:true}"}""", """{"payload":"ADDR"}""", "ble rpc: params is not valid JSON")]
    [InlineData("""{"type":"ble rpc","method":"Switch.Set","params":"{\"id\":7,\"on\":true}"}""", """{"payload":"ADDR"}""", "ble rpc Switch.Set on ADDR: ")]
    [InlineData("""{"type":"ble rpc","method":"Shelly.GetDeviceInfo","params":""}""", """{"payload":"00:11:22:33:44:55"}""", "ble rpc Shelly.GetDeviceInfo on 00:11:22:33:44:55: ")]
    public async Task Rpc_failures_and_bad_input_go_to_catch(string node, string msg, string error)
    {
        await using var b = await BleFlow.StartAsync(node, inRange: 1, scan: true);
        b.Rig.Send(msg.Replace("ADDR", b[0].Address, StringComparison.Ordinal));
        Assert.StartsWith(error.Replace("ADDR", b[0].Address, StringComparison.Ordinal), await b.Rig.ErrorAsync(), StringComparison.Ordinal);
        await b.Rig.Flow.AssertNothingAsync("out");
    }

    [Fact]
    public async Task Provision_puts_each_device_of_an_array_on_wifi_and_waits_until_it_connects()
    {
        await using var b = await BleFlow.StartAsync("""{"type":"ble provision","ssid":"Other","timeout":20,"concurrency":2}""", inRange: 2, scan: true);
        // The message's SSID and password win over the node's; devices are named by a discover message's payload or an address.
        b.Rig.Send($$"""{"payload":[{"address":"{{b[0].Address}}"},"{{b[1].Address}}"],"ssid":"Lab","password":"secret-pass"}""");
        var results = await b.Rig.Flow.TakeAsync("out", 2);
        Assert.All(results, r => Assert.True(r.Payload!["ok"]!.GetValue<bool>(), r.Payload.ToJsonString()));
        Assert.Equal(new[] { b[0].Device.Id, b[1].Device.Id }.Order(), results.Select(r => r.Data["topic"]!.GetValue<string>()).Order());
        Assert.True(b.Rig.Host.Hub.IsOnline(b[0].Device.Id));
        Assert.True(b.Rig.Host.Hub.IsOnline(b[1].Device.Id));
        await b.Rig.StatusAsync(t => t == "2 provisioned");
    }

    [Fact]
    public async Task Provision_with_a_wrong_password_reports_the_failed_step()
    {
        await using var b = await BleFlow.StartAsync("""{"type":"ble provision","ssid":"Lab","password":"wrong","timeout":1}""", inRange: 1, scan: true);
        b.Rig.Send($$"""{"payload":"{{b[0].Address}}"}""");
        var result = (await b.Rig.OutAsync()).Payload!;
        Assert.False(result["ok"]!.GetValue<bool>());
        Assert.Equal("wait for /shelly", result["failedStep"]!.GetValue<string>());
        var status = await b.Rig.StatusAsync(t => t.Contains("failed", StringComparison.Ordinal));
        Assert.Equal("1 of 1 failed", status["text"]!.GetValue<string>());
        Assert.False(b.Rig.Host.Hub.IsOnline(b[0].Device.Id));
    }

    [Theory]
    [InlineData("""{"type":"ble provision","ssid":"Lab"}""", """{"payload":{"rssi":-40}}""", "ble provision: msg.payload must name a device (BLE address or id)")]
    [InlineData("""{"type":"ble provision","ssid":"Lab"}""", """{"payload":["AA:BB:CC:DD:EE:FF",7]}""", "ble provision: msg.payload must name a device (BLE address or id)")]
    [InlineData("""{"type":"ble provision","ssid":""}""", """{"topic":"AA:BB:CC:DD:EE:FF"}""", "ble provision: no SSID (set one or send msg.ssid)")]
    public async Task Provision_refuses_requests_without_a_device_or_an_ssid(string node, string msg, string error)
    {
        await using var b = await BleFlow.StartAsync(node, inRange: 0, scan: false);
        b.Rig.Send(msg);
        Assert.Equal(error, await b.Rig.ErrorAsync());
    }
}
