using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using FlowFleet.Nodes.Core.Tests.Network.Mqtt;
using FlowFleet.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Adapter;

namespace FlowFleet.Server.Tests;

/// <summary>Shelly devices over MQTT (the simulator's --mqtt mode) in the same registry as websocket devices; the embedded
/// broker's sign-in; flows' mqtt nodes on the embedded broker by name.</summary>
public sealed class ShellyMqttTests
{
    private static async Task<(ServerFixture Server, int Port)> StartAsync(params string[] extra)
    {
        var port = Loopback.FreePort();
        var s = await ServerFixture.StartAsync(extraArgs: [.. extra, "--Mqtt:Broker:Enabled", "true", "--Mqtt:Broker:Address", "127.0.0.1", "--Mqtt:Broker:Port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        return (s, port);
    }

    private static async Task WaitOnline(ServerFixture s, IEnumerable<string> ids) =>
        await Poll.UntilAsync(() => Task.FromResult(ids.All(s.App.Services.GetRequiredService<DeviceHub>().IsOnline)), "devices online", 20_000);

    [Fact]
    public async Task Mqtt_and_websocket_devices_are_admitted_shown_and_answer_mass_rpc_side_by_side()
    {
        var (s, port) = await StartAsync();
        await using var _ = s;
        var devices = s.App.Services.GetRequiredService<IDeviceStore>();
        var token = (await s.App.Services.GetRequiredService<IEnrollmentTokenStore>().CreateTokenAsync("mqtt test")).Token;
        // Admitted by the enrollment token they sign in with (user = device id, password = token).
        await using var mqtt = new SimFleet(null, 3, "plus1pm", FleetApiTests.FastSim, firstIndex: 100, mqtt: new Uri($"mqtt://127.0.0.1:{port}"), mqttToken: token);
        await using var ws = new SimFleet(s.ShellyUrl + "?token=" + token, 3, "plus1pm", FleetApiTests.FastSim, firstIndex: 200);
        await mqtt.StartAsync();
        await ws.StartAsync();
        await WaitOnline(s, mqtt.Devices.Concat(ws.Devices).Select(d => d.Id));
        using var admin = await s.AdminAsync();

        var list = await admin.GetFromJsonAsync<JsonObject>("/api/devices?sort=id");
        var transports = list!["items"]!.AsArray().ToDictionary(d => d!["id"]!.GetValue<string>(), d => d!["transport"]?.GetValue<string>());
        Assert.All(mqtt.Devices, d => Assert.Equal("mqtt", transports[d.Id]));
        Assert.All(ws.Devices, d => Assert.Equal("websocket", transports[d.Id]));
        // Identity was read over MQTT like over the websocket.
        var one = await admin.GetFromJsonAsync<JsonObject>($"/api/devices/{mqtt.Devices.First().Id}");
        Assert.Equal(mqtt.Devices.First().Profile.Model, one!["model"]!.GetValue<string>());
        Assert.Contains("Switch.Toggle", one["methods"]!.AsArray().Select(m => m!.GetValue<string>()));

        using var r = await admin.PostAsJsonAsync("/api/rpc", new { method = "Switch.Set", @params = new { id = 0, on = true }, targets = new[] { "*" } });
        var mass = await r.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(6, mass!["ok"]!.GetValue<int>());
        Assert.All(mqtt.Devices.Concat(ws.Devices), d => Assert.True(d.Status("switch:0")!["output"]!.GetValue<bool>()));
        // Status pushed by the device (NotifyStatus on <id>/events/rpc) reaches the registry.
        var device = mqtt.Devices.First();
        await Poll.UntilAsync(() => Task.FromResult(devices.Get(device.Id)!.StatusOf("switch:0").Field("output")?.GetValue<bool>() == true), "reported switch state");

        // An RPC error from an MQTT device comes back as from a websocket device.
        using var bad = await admin.PostAsJsonAsync($"/api/devices/{device.Id}/rpc", new { method = "Switch.Set", @params = new { id = 9, on = true } });
        Assert.Contains("id=9", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The device goes away (its will or an online=false): offline in the registry.
        await mqtt.MqttConnections[0].DisposeAsync();
        await Poll.UntilAsync(() => Task.FromResult(!s.App.Services.GetRequiredService<DeviceHub>().IsOnline(device.Id)), "the MQTT device offline");
    }

    [Fact]
    public async Task Without_a_token_an_mqtt_device_waits_in_the_waiting_room_until_accepted_and_bad_credentials_are_refused()
    {
        var (s, port) = await StartAsync();
        await using var _ = s;
        // A FlowFleet user may sign in to the broker; a device that does is not admitted by that.
        await using var mqtt = new SimFleet(null, 1, "plus1pm", FleetApiTests.FastSim, firstIndex: 300, mqtt: new Uri($"mqtt://admin:{ServerFixture.AdminPassword}@127.0.0.1:{port}"));
        await mqtt.StartAsync();
        var id = mqtt.Devices.Single().Id;
        var devices = s.App.Services.GetRequiredService<IDeviceStore>();
        await Poll.UntilAsync(() => Task.FromResult(devices.Get(id)?.Admission == AdmissionStates.Pending), "the device pending");
        using var admin = await s.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/devices/{id}/accept", null)).StatusCode);
        await WaitOnline(s, [id]);
        var result = await admin.PostAsJsonAsync($"/api/devices/{id}/rpc", new { method = "Shelly.GetDeviceInfo" });
        Assert.Equal(id, (await result.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());

        await AssertRefusedAsync(port, b => b.WithCredentials("admin", "wrong"));
        await AssertRefusedAsync(port, b => b);
    }

    private static async Task AssertRefusedAsync(int port, Func<MqttClientOptionsBuilder, MqttClientOptionsBuilder> credentials)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        try
        {
            var result = await client.ConnectAsync(credentials(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port)).Build());
            Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, result.ResultCode);
        }
        catch (MqttConnectingFailedException ex)
        {
            Assert.Contains("BadUserNameOrPassword", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Devices_on_an_external_mosquitto_join_the_fleet_and_fleet_nodes_call_them()
    {
        await using var mosquitto = await TestBrokers.StartAsync("mosquitto");
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto", "--Mqtt:Shelly:Server", $"mqtt://127.0.0.1:{mosquitto.Port}"]);
        await using var mqtt = new SimFleet(null, 2, "plus1pm", FleetApiTests.FastSim, firstIndex: 400, mqtt: new Uri($"mqtt://127.0.0.1:{mosquitto.Port}"));
        await using var ws = new SimFleet(s.ShellyUrl, 2, "plus1pm", FleetApiTests.FastSim, firstIndex: 500);
        await mqtt.StartAsync();
        await ws.StartAsync();
        await WaitOnline(s, mqtt.Devices.Concat(ws.Devices).Select(d => d.Id));
        using var admin = await s.AdminAsync();
        // An rpc call node toggles every device, whatever its transport.
        var flow = $$"""
            [{"id":"t1","type":"tab"},
             {"id":"go","type":"inject","z":"t1","x":100,"y":100,"props":[{"p":"payload"}],"payload":"","payloadType":"str","wires":[["rpc"]]},
             {"id":"rpc","type":"rpc call","z":"t1","x":300,"y":100,"targetType":"all","method":"Switch.Toggle","params":"{\"id\":0}","output":"each","wires":[[]]}]
            """;
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(flow))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/red/inject/go", null)).StatusCode);
        await Poll.UntilAsync(() => Task.FromResult(mqtt.Devices.Concat(ws.Devices).All(d => d.Status("switch:0")!["output"]!.GetValue<bool>())), "every switch toggled on");
    }

    [Fact]
    public async Task Flow_mqtt_nodes_reach_the_embedded_broker_by_name()
    {
        var (s, port) = await StartAsync();
        await using var _ = s;
        using var admin = await s.AdminAsync();
        // In through the embedded broker by name; out through its port with a FlowFleet user's credentials (encrypted).
        var flow = $$"""
            [{"id":"t1","type":"tab"},
             {"id":"b","type":"mqtt-broker","broker":"flowfleet","protocolVersion":"4"},
             {"id":"b2","type":"mqtt-broker","broker":"127.0.0.1","port":"{{port}}","protocolVersion":"5","credentials":{"user":"admin","password":"{{ServerFixture.AdminPassword}}"} },
             {"id":"in","type":"mqtt in","z":"t1","x":100,"y":100,"topic":"ask/#","qos":"1","datatype":"utf8","broker":"b","wires":[["f"]]},
             {"id":"f","type":"function","z":"t1","x":200,"y":100,"func":"msg.topic = 'answer'; msg.payload = msg.payload.toUpperCase(); return msg;","outputs":1,"wires":[["out"]]},
             {"id":"out","type":"mqtt out","z":"t1","x":300,"y":100,"qos":"1","broker":"b2","wires":[]}]
            """;
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(flow))).StatusCode);
        using var client = new MqttClientFactory().CreateMqttClient();
        var got = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ApplicationMessageReceivedAsync += e =>
        {
            got.TrySetResult(Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithCredentials("admin", ServerFixture.AdminPassword).Build());
        await client.SubscribeAsync("answer");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!got.Task.IsCompleted && DateTime.UtcNow < deadline)
        {
            // Until the flow's subscription is in place.
            await client.PublishStringAsync("ask/x", "hello", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
            await Task.WhenAny(got.Task, Task.Delay(200));
        }
        Assert.Equal("HELLO", await got.Task.WaitAsync(TimeSpan.FromSeconds(1)));
        Assert.DoesNotContain(ServerFixture.AdminPassword, await File.ReadAllTextAsync(Path.Combine(s.DataDir, "flows.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_turns_the_broker_on_even_when_its_port_is_taken_and_its_mqtt_devices_join_the_fleet()
    {
        // Another broker (or another demo) holds the configured port: the demo's broker takes a free one.
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var dataDir = Directory.CreateTempSubdirectory("flowfleet-demo-").FullName;
        var app = FlowFleetHost.Build(["--urls", "http://127.0.0.1:0", "--ADMIN_PASSWORD", ServerFixture.AdminPassword, "--Mqtt:Broker:Address", "127.0.0.1", "--Mqtt:Broker:Port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            new ServerOptions { DataDirectory = dataDir, Demo = true, PluginsDirectory = Path.Combine(dataDir, "no-plugins"), Console = TextWriter.Null });
        await FlowFleetHost.InitializeAsync(app);
        await app.StartAsync();
        try
        {
            var broker = app.Services.GetRequiredService<FlowFleet.Fleet.Mqtt.EmbeddedMqttBroker>();
            Assert.True(broker.IsRunning);
            Assert.NotEqual(port, broker.Port);
            var demo = app.Services.GetRequiredService<DemoDevices>();
            await Poll.UntilAsync(() => Task.FromResult(demo.MqttFleet is not null), "the demo's MQTT devices", 20_000);
            var hub = app.Services.GetRequiredService<DeviceHub>();
            var ids = demo.MqttFleet!.Devices.Select(d => d.Id).ToList();
            Assert.Equal(DemoDevices.MqttDeviceCount, ids.Count);
            await Poll.UntilAsync(() => Task.FromResult(ids.All(hub.IsOnline)), "demo MQTT devices online", 20_000);
            Assert.All(ids, id => Assert.Equal("mqtt", hub.Session(id)!.Transport));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
