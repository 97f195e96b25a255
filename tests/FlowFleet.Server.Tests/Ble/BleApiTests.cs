using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim.Ble;
using FlowFleet.Fleet.Ble;
using FlowFleet.Fleet.Hub;
using FlowFleet.Runtime.Context;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests.Ble;

/// <summary>BLE through the server's surfaces: REST, <c>/client</c>, the nodes, against a simulated adapter with unprovisioned devices.</summary>
public sealed class BleApiTests
{
    private static async Task<(ServerFixture Server, SimBleAdapter Adapter, HttpClient Admin)> StartAsync(int devices)
    {
        var adapter = new SimBleAdapter("sim-test");
        adapter.AddUnprovisioned(devices, "B0B000", "plus1pm", network: ("Lab", "lab-pass-1"));
        // Manual admission (the default): provisioned devices must be admitted by the enrollment token the provisioner adds.
        var s = await ServerFixture.StartAsync(services => services.AddSingleton<IBleAdapter>(adapter));
        return (s, adapter, await s.AdminAsync());
    }

    private static async Task<JsonObject> Json(HttpResponseMessage r) => (await r.Content.ReadFromJsonAsync<JsonObject>())!;

    [Fact]
    public async Task Scan_list_provision_and_call_over_rest()
    {
        var (s, adapter, admin) = await StartAsync(2);
        await using var _ = s;
        using var __ = admin;
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync("/api/ble/scan", new { action = "start" })).StatusCode);
        await Poll.UntilAsync(async () => (await Json(await admin.GetAsync("/api/ble/devices")))["total"]!.GetValue<int>() == 2, "2 devices in range");
        var adapters = await Json(await admin.GetAsync("/api/ble/adapters"));
        var sim = adapters["items"]!.AsArray().Single(a => a!["name"]!.GetValue<string>() == "sim-test")!;
        Assert.Equal("Scanning", sim["state"]!.GetValue<string>());
        // This machine's BlueZ adapter is listed too, usable or with the reason it is not.
        var local = adapters["items"]!.AsArray().Single(a => a!["kind"]!.GetValue<string>() == "bluez")!;
        Assert.True(local["usable"]!.GetValue<bool>() || local["detail"]!.GetValue<string>().Length > 0);
        var list = (await Json(await admin.GetAsync("/api/ble/devices")))["items"]!.AsArray();
        Assert.All(list, d => Assert.False(d!["provisioned"]!.GetValue<bool>()));
        Assert.All(list, d => Assert.Equal("sim-test", d!["station"]!.GetValue<string>()));

        var address = adapter.Devices[0].Address;
        var info = await Json(await admin.PostAsJsonAsync($"/api/ble/devices/{address}/rpc", new { method = "Shelly.GetDeviceInfo" }));
        Assert.Equal(adapter.Devices[0].Device.Id, info["result"]!["id"]!.GetValue<string>());

        var provision = await admin.PostAsJsonAsync("/api/ble/provision", new { devices = adapter.Devices.Select(d => d.Address).ToArray(), ssid = "Lab", password = "lab-pass-1" });
        Assert.Equal(HttpStatusCode.OK, provision.StatusCode);
        var result = await Json(provision);
        Assert.Equal(2, result["ok"]!.GetValue<int>());
        var hub = s.App.Services.GetRequiredService<DeviceHub>();
        Assert.All(adapter.Devices, d => Assert.True(hub.IsOnline(d.Device.Id), d.Device.Id + " admitted and online"));
        var devices = await Json(await admin.GetAsync("/api/devices"));
        Assert.Equal(2, devices["total"]!.GetValue<int>());
        await Poll.UntilAsync(async () => (await Json(await admin.GetAsync("/api/ble/devices")))["items"]!.AsArray().All(d => d!["provisioned"]!.GetValue<bool>()), "listed as provisioned");
    }

    [Fact]
    public async Task Bad_requests_get_clear_errors_and_the_openapi_document_lists_the_endpoints()
    {
        var (s, adapter, admin) = await StartAsync(1);
        await using var _ = s;
        using var __ = admin;
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("/api/ble/scan", new { action = "sideways" })).StatusCode);
        var noSsid = await admin.PostAsJsonAsync("/api/ble/provision", new { devices = new[] { "AA:BB:CC:DD:EE:FF" } });
        Assert.Equal(HttpStatusCode.BadRequest, noSsid.StatusCode);
        Assert.Contains("ssid", (await Json(noSsid))["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("/api/ble/devices/x/rpc", new { method = "" })).StatusCode);
        var unknown = await admin.PostAsJsonAsync("/api/ble/devices/00:11:22:33:44:55/rpc", new { method = "Shelly.GetDeviceInfo" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("not in range", (await Json(unknown))["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var failed = await Json(await admin.PostAsJsonAsync("/api/ble/provision", new { device = "00:11:22:33:44:55", ssid = "Lab" }));
        Assert.Equal("connect", failed["results"]![0]!["failedStep"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client.GetAsync("/api/ble/devices")).StatusCode);
        var openApi = await (await admin.GetAsync("/openapi/v1.json")).Content.ReadAsStringAsync();
        foreach (var path in new[] { "/api/ble/scan", "/api/ble/devices", "/api/ble/provision", "/api/ble/devices/{device}/rpc", "/api/ble/adapters" })
        {
            Assert.Contains($"\"{path}\"", openApi, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Client_websocket_scans_lists_and_calls_over_ble()
    {
        var (s, adapter, admin) = await StartAsync(1);
        await using var _ = s;
        using var __ = admin;
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"ws://{s.BaseUri.Authority}/client?access_token={await s.TokenAsync()}"), CancellationToken.None);
        Assert.True((await CallAsync(ws, 1, "Ble.Scan", new JsonObject()))["result"]!["scanning"]!.GetValue<bool>());
        await Poll.UntilAsync(async () => (await CallAsync(ws, 2, "Ble.List", new JsonObject()))["result"]!["items"]!.AsArray().Count == 1, "in range over /client");
        var call = await CallAsync(ws, 3, "Ble.Call", new JsonObject { ["device"] = adapter.Devices[0].Address, ["method"] = "Sys.GetConfig" });
        Assert.NotNull(call["result"]!["result"]!["device"]);
        var bad = await CallAsync(ws, 4, "Ble.Call", new JsonObject { ["device"] = "nope", ["method"] = "Sys.GetConfig" });
        Assert.Contains("not in range", bad["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var provision = await CallAsync(ws, 5, "Ble.Provision", new JsonObject { ["devices"] = new JsonArray(adapter.Devices[0].Address), ["ssid"] = "Lab", ["password"] = "lab-pass-1" });
        Assert.True(provision["result"]!["results"]![0]!["ok"]!.GetValue<bool>(), provision.ToJsonString());
        Assert.True(s.App.Services.GetRequiredService<DeviceHub>().IsOnline(adapter.Devices[0].Device.Id));
        // Checked like POST /api/ble/provision: no SSID, or more than 200 devices, is invalid params (not a start).
        var noSsid = await CallAsync(ws, 6, "Ble.Provision", new JsonObject { ["device"] = adapter.Devices[0].Address });
        Assert.Equal(-32602, noSsid["error"]!["code"]!.GetValue<int>());
        Assert.Equal("devices (BLE addresses or ids) and ssid are required", noSsid["error"]!["message"]!.GetValue<string>());
        var many = await CallAsync(ws, 7, "Ble.Provision", new JsonObject
        {
            ["devices"] = new JsonArray(Enumerable.Range(0, 201).Select(i => (JsonNode?)$"AA:BB:CC:00:{i / 256:X2}:{i % 256:X2}").ToArray()), ["ssid"] = "Lab",
        });
        Assert.Equal("at most 200 devices per request", many["error"]!["message"]!.GetValue<string>());
        var unknown = await CallAsync(ws, 8, "Ble.Nope", new JsonObject());
        Assert.Equal(-32601, unknown["error"]!["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task Provision_node_keeps_the_password_encrypted_and_brings_the_device_online()
    {
        var (s, adapter, admin) = await StartAsync(1);
        await using var _ = s;
        using var __ = admin;
        await s.App.Services.GetRequiredService<BleService>().StartScanAsync();
        var address = adapter.Devices[0].Address;
        var flow = JsonNode.Parse($$"""
            [{"id":"t1","type":"tab","label":"ble"},
             {"id":"go","type":"inject","z":"t1","x":100,"y":100,"props":[{"p":"payload"}],"payload":"{{address}}","payloadType":"str","wires":[["prov"]]},
             {"id":"prov","type":"ble provision","z":"t1","x":300,"y":100,"ssid":"Lab","timeout":30,"credentials":{"password":"lab-pass-1"},"wires":[["out"]]},
             {"id":"out","type":"function","z":"t1","x":500,"y":100,"outputs":1,"func":"global.set('out', msg.payload); return null;","wires":[[]]}]
            """)!;
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(flow.ToJsonString()))).StatusCode);
        Assert.DoesNotContain("lab-pass-1", await File.ReadAllTextAsync(Path.Combine(s.DataDir, "flows.json")), StringComparison.Ordinal);
        Assert.DoesNotContain("lab-pass-1", await File.ReadAllTextAsync(Path.Combine(s.DataDir, "flows_cred.json")), StringComparison.Ordinal);
        await Poll.UntilAsync(() => Task.FromResult(s.App.Services.GetRequiredService<BleService>().InRange().Count == 1), "in range");
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/red/inject/go", null)).StatusCode);
        var global = s.App.Services.GetRequiredService<ContextManager>().Scope("global");
        await Poll.UntilAsync(() => Task.FromResult(global.Get("out") is JsonObject), "the node's result", 40_000);
        var result = (JsonObject)global.Get("out")!;
        Assert.True(result["ok"]!.GetValue<bool>(), result.ToJsonString());
        Assert.Equal(adapter.Devices[0].Device.Id, result["id"]!.GetValue<string>());
        Assert.True(s.App.Services.GetRequiredService<DeviceHub>().IsOnline(adapter.Devices[0].Device.Id));
    }

    private static async Task<JsonObject> CallAsync(ClientWebSocket ws, int id, string method, JsonObject p)
    {
        var frame = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method, ["params"] = p };
        await ws.SendAsync(Encoding.UTF8.GetBytes(frame.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[1 << 16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var r = await ws.ReceiveAsync(buffer, timeout.Token);
            var answer = JsonNode.Parse(buffer.AsSpan(0, r.Count))!.AsObject();
            if (answer["id"]?.ToJsonString() == id.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                return answer;
            }
        }
    }

    [Fact]
    public async Task Discover_node_emits_each_shelly_and_rpc_node_calls_over_ble()
    {
        var (s, adapter, admin) = await StartAsync(2);
        await using var _ = s;
        using var __ = admin;
        var target = adapter.Devices[1];
        var flow = JsonNode.Parse($$"""
            [{"id":"t1","type":"tab","label":"ble"},
             {"id":"disc","type":"ble discover","z":"t1","x":100,"y":100,"scanOnDeploy":true,"unprovisionedOnly":true,"wires":[["found"]]},
             {"id":"found","type":"function","z":"t1","x":300,"y":100,"outputs":1,"func":"const a = global.get('found') || []; a.push({topic: msg.topic, payload: msg.payload}); global.set('found', a); return null;","wires":[[]]},
             {"id":"go","type":"inject","z":"t1","x":100,"y":200,"props":[{"p":"payload"}],"payload":"{{target.Address}}","payloadType":"str","wires":[["rpc"]]},
             {"id":"rpc","type":"ble rpc","z":"t1","x":300,"y":200,"method":"Switch.Set","params":"{\"id\":0,\"on\":true}","wires":[["got"]]},
             {"id":"got","type":"function","z":"t1","x":500,"y":200,"outputs":1,"func":"global.set('rpc', {payload: msg.payload, station: msg.station}); return null;","wires":[[]]}]
            """)!;
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(flow.ToJsonString()))).StatusCode);
        var global = s.App.Services.GetRequiredService<ContextManager>().Scope("global");
        await Poll.UntilAsync(() => Task.FromResult(global.Get("found") is JsonArray { Count: 2 }), "both devices found by the discover node");
        var found = (JsonArray)global.Get("found")!;
        Assert.Equal(adapter.Devices.Select(d => d.Device.Id).Order(), found.Select(f => f!["topic"]!.GetValue<string>()).Order());
        Assert.All(found, f =>
        {
            Assert.Equal("sim-test", f!["payload"]!["station"]!.GetValue<string>());
            Assert.False(f["payload"]!["provisioned"]!.GetValue<bool>());
            Assert.NotNull(f["payload"]!["rssi"]);
            Assert.Equal("5", f["payload"]!["flags"]!.ToJsonString());
        });
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/red/inject/go", null)).StatusCode);
        await Poll.UntilAsync(() => Task.FromResult(global.Get("rpc") is JsonObject), "the rpc node's answer");
        Assert.False(((JsonObject)global.Get("rpc")!)["payload"]!["was_on"]!.GetValue<bool>());
        Assert.True(target.Device.Status("switch:0")!["output"]!.GetValue<bool>());
        Assert.False(adapter.Devices[0].Device.Status("switch:0")!["output"]!.GetValue<bool>());
    }
}
