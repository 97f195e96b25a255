using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim.Ble;
using FlowFleet.Fleet.Ble;
using FlowFleet.Fleet.Ble.Station;
using FlowFleet.Fleet.Hub;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests.Ble;

/// <summary>Remote BLE stations over <c>/ble</c> end to end: tokens, two stations hearing one device, best-station pick,
/// provisioning through a station onto <c>/shelly</c>, revocation, reconnect after a drop.</summary>
public sealed class BleStationTests
{
    private static async Task<JsonObject> Json(HttpResponseMessage r) => (await r.Content.ReadFromJsonAsync<JsonObject>())!;

    [Fact]
    public async Task Two_stations_hear_a_device_the_nearer_provisions_it_and_a_dropped_station_reconnects()
    {
        // No local adapter on the server: everything goes through stations.
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Ble:BlueZ", "false"]);
        using var admin = await s.AdminAsync();
        var nearToken = await Json(await admin.PostAsJsonAsync("/api/ble/stations/tokens", new { name = "garage" }));
        var farToken = await Json(await admin.PostAsJsonAsync("/api/ble/stations/tokens", new { name = "attic" }));
        var tokens = await (await admin.GetAsync("/api/ble/stations/tokens")).Content.ReadFromJsonAsync<JsonArray>();
        Assert.Equal(["garage", "attic"], tokens!.Select(t => t!["name"]!.GetValue<string>()));
        Assert.All(tokens!, t => Assert.Null(t!["token"]));

        await using var nearRadio = new SimBleAdapter("hci0");
        await using var farRadio = new SimBleAdapter("hci0");
        var device = nearRadio.AddUnprovisioned(1, "57A700", "plus1pm", network: ("Barn", "barn-pass"))[0];
        farRadio.AddShared(device, -88);
        var endpoint = new Uri($"ws://{s.BaseUri.Authority}/ble");
        var near = new BleStationClient(endpoint, nearToken["token"]!.GetValue<string>(), "near", nearRadio) { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(400) };
        var far = new BleStationClient(endpoint, farToken["token"]!.GetValue<string>(), "far", farRadio) { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(400) };
        using var stop = new CancellationTokenSource();
        var runs = new[] { near.RunAsync(stop.Token), far.RunAsync(stop.Token) };
        try
        {
            await Poll.UntilAsync(async () => (await (await admin.GetAsync("/api/ble/stations")).Content.ReadFromJsonAsync<JsonArray>())!.Count == 2, "two stations connected");
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync("/api/ble/scan", new { action = "start" })).StatusCode);
            await Poll.UntilAsync(async () => (await Json(await admin.GetAsync("/api/ble/devices")))["items"]!.AsArray() is [{ } d] && d["sightings"]!.AsArray().Count == 2,
                "the device heard by both stations");
            var seen = (await Json(await admin.GetAsync("/api/ble/devices")))["items"]![0]!;
            Assert.Equal("station:near", seen["station"]!.GetValue<string>());
            Assert.InRange(seen["rssi"]!.GetValue<int>(), -70, -30);
            Assert.Contains(seen["sightings"]!.AsArray(), x => x!["adapter"]!.GetValue<string>() == "station:far" && x["rssi"]!.GetValue<int>() < -80);

            // RPC through the far station when asked; provisioning through the best one.
            var viaFar = await Json(await admin.PostAsJsonAsync($"/api/ble/devices/{device.Address}/rpc", new { method = "Shelly.GetDeviceInfo", adapter = "station:far" }));
            Assert.Equal("station:far", viaFar["station"]!.GetValue<string>());
            Assert.Equal(device.Device.Id, viaFar["result"]!["id"]!.GetValue<string>());
            var provisioned = await Json(await admin.PostAsJsonAsync("/api/ble/provision", new { device = device.Address, ssid = "Barn", password = "barn-pass" }));
            var result = provisioned["results"]![0]!;
            Assert.True(result["ok"]!.GetValue<bool>(), result.ToJsonString());
            Assert.Equal("station:near", result["station"]!.GetValue<string>());
            Assert.True(s.App.Services.GetRequiredService<DeviceHub>().IsOnline(device.Device.Id));

            // A drop: the station comes back by itself (backoff) and is scanning again.
            var hub = s.App.Services.GetRequiredService<BleStationHub>();
            Assert.True(await hub.DisconnectAsync("near"));
            await Poll.UntilAsync(() => Task.FromResult(near.Sessions >= 2 && hub.Stations.Any(x => x.Station == "near" && x.Status.Usable)), "near reconnected");
            await Poll.UntilAsync(async () => (await Json(await admin.GetAsync("/api/ble/devices")))["items"]![0]!["station"]!.GetValue<string>() == "station:near", "near hears it again");

            // Revoking a token disconnects its station, and it is refused from then on.
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/ble/stations/tokens/{farToken["id"]!.GetValue<string>()}")).StatusCode);
            await Poll.UntilAsync(() => Task.FromResult(hub.Stations.All(x => x.Station != "far") && !far.Connected), "far gone");
            var sessions = far.Sessions;
            Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/api/ble/stations/tokens/nope")).StatusCode);
            using var refused = new ClientWebSocket();
            refused.Options.SetRequestHeader("Authorization", "Bearer " + farToken["token"]!.GetValue<string>());
            await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(endpoint, CancellationToken.None));
            Assert.Equal(sessions, far.Sessions);
            Assert.True((await Json(await admin.GetAsync("/api/ble/adapters")))["items"]!.AsArray().All(a => a!["name"]!.GetValue<string>() != "station:far"));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(runs);
        }
    }

    [Fact]
    public async Task Stations_without_a_token_or_with_garbage_are_refused_and_the_server_stays_up()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Ble:BlueZ", "false"]);
        using var anonymous = new ClientWebSocket();
        var endpoint = new Uri($"ws://{s.BaseUri.Authority}/ble");
        await Assert.ThrowsAsync<WebSocketException>(() => anonymous.ConnectAsync(endpoint, CancellationToken.None));
        Assert.Equal(HttpStatusCode.BadRequest, (await s.Client.GetAsync("/ble")).StatusCode);
        using var admin = await s.AdminAsync();
        var token = await Json(await admin.PostAsJsonAsync("/api/ble/stations/tokens", new { name = "x" }));
        using var rude = new ClientWebSocket();
        rude.Options.SetRequestHeader("Authorization", "Bearer " + token["token"]!.GetValue<string>());
        await rude.ConnectAsync(endpoint, CancellationToken.None);
        await rude.SendAsync("not json"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            // The server closes (1007) and drops the connection: the close frame or the reset may arrive first.
            Assert.Equal(WebSocketMessageType.Close, (await rude.ReceiveAsync(buffer, timeout.Token)).MessageType);
        }
        catch (WebSocketException)
        {
        }
        Assert.NotEqual(WebSocketState.Open, rude.State);
        Assert.Empty(s.App.Services.GetRequiredService<BleStationHub>().Stations);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/ble/adapters")).StatusCode);
    }

    [Fact]
    public async Task The_ble_station_command_connects_and_lends_its_simulated_radio()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Ble:BlueZ", "false"]);
        using var admin = await s.AdminAsync();
        var token = (await Json(await admin.PostAsJsonAsync("/api/ble/stations/tokens", new { name = "cli" })))["token"]!.GetValue<string>();
        using var output = new StringWriter();
        string[] bad = ["ble-station", "--server", "http://nope", "--token", token];
        Assert.Equal(2, await FlowFleet.Server.Cli.CliCommands.Build(bad, output, output).Parse(bad).InvokeAsync());
        Assert.Contains("needs --server ws://", output.ToString(), StringComparison.Ordinal);

        string[] args = ["ble-station", "--server", $"ws://{s.BaseUri.Authority}/ble", "--token", token, "--name", "cli-pi", "--simulate", "2"];
        using var stop = new CancellationTokenSource();
        var run = FlowFleet.Server.Cli.CliCommands.Build(args, output, output).Parse(args).InvokeAsync(null, stop.Token);
        try
        {
            await Poll.UntilAsync(async () => (await (await admin.GetAsync("/api/ble/stations")).Content.ReadFromJsonAsync<JsonArray>())!
                .Any(x => x!["name"]!.GetValue<string>() == "cli-pi" && x["state"]!.GetValue<string>() == "Ready" && x["localAdapter"]!.GetValue<string>() == "sim"), "the CLI station connected");
            await admin.PostAsJsonAsync("/api/ble/scan", new { action = "start" });
            await Poll.UntilAsync(async () => (await Json(await admin.GetAsync("/api/ble/devices")))["items"]!.AsArray()
                .Count(d => d!["station"]!.GetValue<string>() == "station:cli-pi") == 2, "its two simulated devices in range");
        }
        finally
        {
            await stop.CancelAsync();
        }
        Assert.Equal(0, await run);
    }
}
