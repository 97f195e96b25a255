using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Tests;

/// <summary>The hub and simulated devices over real loopback websockets.</summary>
public sealed class HubTests
{
    [Fact]
    public async Task Device_connects_is_identified_and_answers_rpc()
    {
        await using var host = await FleetHost.StartAsync();
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "plus1pm", FleetHost.FastSim);
        var sim = fleet.Devices.Single();
        var connected = new TaskCompletionSource<string>();
        using var sub = host.Hub.Subscribe(e =>
        {
            if (e.Kind == DeviceEventKind.Connect)
            {
                connected.TrySetResult(e.DeviceId);
            }
        });
        await fleet.StartAsync();
        Assert.Equal(sim.Id, await connected.Task.WaitAsync(TimeSpan.FromSeconds(10)));

        var state = host.Devices.Get(sim.Id)!;
        Assert.True(state.Online);
        Assert.Equal("SNSW-001P16EU", state.Model);
        Assert.Equal("Plus1PM", state.App);
        Assert.Equal("1.4.2", state.FirmwareVersion);
        Assert.Contains("Switch.Set", state.Methods);
        Assert.NotNull(state.Config?["switch:0"]);

        var result = await host.Hub.CallAsync(sim.Id, "switch.set", new JsonObject { ["id"] = 0, ["on"] = true });
        Assert.False(result!["was_on"]!.GetValue<bool>());
        Assert.True(sim.Status("switch:0")!["output"]!.GetValue<bool>());
        await Poll.UntilAsync(() => { lock (state.Gate) { return state.Status["switch:0"]?["output"]?.GetValue<bool>() == true; } }, "status delta merged");

        var error = await Assert.ThrowsAsync<ShellyRpcException>(() => host.Hub.CallAsync(sim.Id, "Switch.Set", new JsonObject { ["id"] = 7, ["on"] = true }));
        Assert.Equal(-105, error.Code);
        Assert.Equal("Bad id=7", error.Message);
        var unknown = await Assert.ThrowsAsync<ShellyRpcException>(() => host.Hub.CallAsync(sim.Id, "Nope.Nothing"));
        Assert.Equal(404, unknown.Code);
    }

    [Fact]
    public async Task Status_notifications_flow_as_events_and_telemetry()
    {
        await using var host = await FleetHost.StartAsync();
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "plus1pm", FleetHost.FastSim);
        var sim = fleet.Devices.Single();
        sim.Call("Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true });
        var deltas = new List<JsonObject>();
        using var sub = host.Hub.Subscribe(e =>
        {
            if (e.Kind == DeviceEventKind.Status && e.Data is JsonObject o)
            {
                lock (deltas)
                {
                    deltas.Add(o);
                }
            }
        });
        await fleet.StartAsync();
        await Poll.UntilAsync(() => { lock (deltas) { return deltas.Count >= 3; } }, "three status deltas");
        lock (deltas)
        {
            Assert.All(deltas.Skip(1), d => Assert.True(d["switch:0"]?["apower"]?.GetValue<double>() > 0));
        }
        await host.Writer.WriteQueuedAsync();
        var fields = await host.Telemetry.TelemetryFieldsAsync(sim.Id);
        Assert.Contains("switch:0.apower", fields);
        Assert.Contains("switch:0.aenergy.total", fields);
        var points = await host.Telemetry.TelemetryAsync(sim.Id, "switch:0.apower", 0, long.MaxValue, 1000);
        Assert.NotEmpty(points);
        Assert.All(points, p => Assert.True(p.Avg > 0));
    }

    [Fact]
    public async Task Config_change_is_reread_and_button_events_arrive()
    {
        await using var host = await FleetHost.StartAsync();
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "i4", FleetHost.FastSim);
        var sim = fleet.Devices.Single();
        var events = new List<DeviceEvent>();
        using var sub = host.Hub.Subscribe(e =>
        {
            if (e.Kind == DeviceEventKind.Event)
            {
                lock (events)
                {
                    events.Add(e);
                }
            }
        });
        await fleet.StartAsync();
        await Poll.UntilAsync(() => host.Hub.IsOnline(sim.Id) && host.Devices.Get(sim.Id)!.Config is not null, "online");

        var r = await host.Hub.CallAsync(sim.Id, "Input.SetConfig", new JsonObject { ["id"] = 2, ["config"] = new JsonObject { ["name"] = "Hall" } });
        Assert.False(r!["restart_required"]!.GetValue<bool>());
        var state = host.Devices.Get(sim.Id)!;
        await Poll.UntilAsync(() => { lock (state.Gate) { return state.Config?["input:2"]?["name"]?.GetValue<string>() == "Hall"; } }, "config re-read after config_changed");

        sim.Press(1, "double_push");
        await Poll.UntilAsync(() => { lock (events) { return events.Any(e => e.Method == "double_push" && e.Component == "input:1"); } }, "button event");
        lock (events)
        {
            Assert.Contains(events, e => e.Method == "config_changed" && e.Component == "input:2");
        }
    }

    [Fact]
    public async Task Firmware_update_reports_progress_and_device_returns_with_new_version()
    {
        await using var host = await FleetHost.StartAsync();
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "plus1pm", FleetHost.FastSim);
        var sim = fleet.Devices.Single();
        var progress = new List<int>();
        using var sub = host.Hub.Subscribe(e =>
        {
            if (e.Kind == DeviceEventKind.Event && e.Method == "ota_progress")
            {
                lock (progress)
                {
                    progress.Add(e.Data!["progress_percent"]!.GetValue<int>());
                }
            }
        });
        await fleet.StartAsync();
        await Poll.UntilAsync(() => host.Hub.IsOnline(sim.Id), "online");
        var check = await host.Hub.CallAsync(sim.Id, "Shelly.CheckForUpdate");
        Assert.Equal("1.5.0", check!["stable"]!["version"]!.GetValue<string>());
        Assert.Null(await host.Hub.CallAsync(sim.Id, "Shelly.Update", new JsonObject { ["stage"] = "stable" }));
        await Poll.UntilAsync(() => host.Devices.Get(sim.Id)!.FirmwareVersion == "1.5.0" && host.Hub.IsOnline(sim.Id), "reconnected with 1.5.0");
        lock (progress)
        {
            Assert.Equal([20, 40, 60, 80, 100], progress);
        }
    }

    [Fact]
    public async Task Battery_device_reports_then_sleeps_without_errors()
    {
        await using var host = await FleetHost.StartAsync();
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "ht", FleetHost.FastSim);
        var sim = fleet.Devices.Single();
        var kinds = new List<DeviceEventKind>();
        using var sub = host.Hub.Subscribe(e =>
        {
            lock (kinds)
            {
                kinds.Add(e.Kind);
            }
        });
        await fleet.StartAsync();
        await Poll.UntilAsync(() => { lock (kinds) { return kinds.Count(k => k == DeviceEventKind.Connect) >= 2; } }, "woke up twice", 15_000);
        lock (kinds)
        {
            Assert.Contains(DeviceEventKind.Disconnect, kinds);
            Assert.Contains(DeviceEventKind.Status, kinds);
        }
        Assert.Equal(0, host.Hub.FramesRejected);
        Assert.NotNull(host.Devices.Get(sim.Id)!.Status["humidity:0"]);
    }

    [Fact]
    public async Task Desired_state_is_applied_when_the_device_comes_online()
    {
        await using var host = await FleetHost.StartAsync();
        var id = new SimDevice(SimProfile.PlusDimmer, 40).Id;
        await host.Devices.SetAdmissionAsync(id, AdmissionStates.Accepted);
        await host.Devices.SetDesiredAsync(id, JsonNode.Parse("""{"light:0":{"output":true,"brightness":30},"config":{"light:0":{"name":"Desk"}}}""")!.AsObject());
        await using var fleet = new SimFleet(host.ShellyUrl, 1, "dimmer", FleetHost.FastSim, firstIndex: 40);
        var sim = fleet.Devices.Single();
        Assert.Equal(id, sim.Id);
        await fleet.StartAsync();
        await Poll.UntilAsync(() => sim.Status("light:0")!["output"]!.GetValue<bool>() && sim.Config("light:0")!["name"]?.GetValue<string>() == "Desk", "desired state applied");
        Assert.Equal(30, sim.Status("light:0")!["brightness"]!.GetValue<int>());
    }

    [Fact]
    public async Task Many_devices_connect_and_a_group_call_reaches_each()
    {
        await using var host = await FleetHost.StartAsync();
        await using var fleet = new SimFleet(host.ShellyUrl, 30, "plus1pm", FleetHost.FastSim);
        await fleet.StartAsync();
        await Poll.UntilAsync(() => host.Hub.OnlineCount == 30, "30 online");
        var results = await Rpc.FleetRpc.CallManyAsync(host.Hub, fleet.Devices.Select(d => d.Id).ToList(), "Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true });
        Assert.Equal(30, results.Count(r => r.Ok));
        Assert.All(fleet.Devices, d => Assert.True(d.Status("switch:0")!["output"]!.GetValue<bool>()));
    }
}
