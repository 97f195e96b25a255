using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.Fleet.Tests;

/// <summary>The simulator speaks the documented protocol: method names, shapes, errors, digest auth.</summary>
public sealed class SimulatorTests
{
    [Fact]
    public void Methods_are_case_insensitive_and_errors_use_shelly_codes()
    {
        var d = new SimDevice(SimProfile.Plus1PM, 3);
        Assert.Equal(d.Id, d.Call("shelly.getdeviceinfo", null)!["id"]!.GetValue<string>());
        Assert.Equal("shellyplus1pm-c0ffee000003", d.Id);
        Assert.False(d.Call("SWITCH.SET", new JsonObject { ["id"] = 0, ["on"] = true })!["was_on"]!.GetValue<bool>());
        Assert.True(d.Call("Switch.Toggle", new JsonObject { ["id"] = 0 })!["was_on"]!.GetValue<bool>());
        Assert.Equal(-105, Assert.Throws<ShellyRpcException>(() => d.Call("Switch.GetStatus", new JsonObject { ["id"] = 3 })).Code);
        Assert.Equal(-103, Assert.Throws<ShellyRpcException>(() => d.Call("Switch.Set", new JsonObject { ["id"] = 0 })).Code);
        var e = Assert.Throws<ShellyRpcException>(() => d.Call("Cover.Open", new JsonObject { ["id"] = 0 }));
        Assert.Equal(404, e.Code);
        Assert.Equal("No handler for Cover.Open", e.Message);
        Assert.True(d.Call("Switch.SetConfig", new JsonObject { ["id"] = 0, ["config"] = new JsonObject { ["name"] = "Pump" } }) is JsonObject r && !r["restart_required"]!.GetValue<bool>());
        Assert.True(d.Call("Ws.SetConfig", new JsonObject { ["config"] = new JsonObject { ["enable"] = true, ["server"] = "ws://x/shelly" } })!["restart_required"]!.GetValue<bool>());
    }

    [Fact]
    public void Status_shapes_follow_the_documentation()
    {
        var plug = new SimDevice(SimProfile.Plus1PM, 0);
        var sw = plug.Status("switch:0")!;
        foreach (var key in new[] { "id", "source", "output", "apower", "voltage", "current", "aenergy", "temperature" })
        {
            Assert.NotNull(sw[key]);
        }
        Assert.NotNull(sw["aenergy"]!["by_minute"]);
        var sys = plug.Call("Sys.GetStatus", null)!;
        foreach (var key in new[] { "mac", "restart_required", "uptime", "ram_size", "ram_free", "fs_size", "fs_free", "cfg_rev", "kvs_rev", "available_updates" })
        {
            Assert.NotNull(sys[key]);
        }
        var em = new SimDevice(SimProfile.Pro3EM, 9).Status("em:0")!;
        Assert.NotNull(em["a_act_power"]);
        Assert.NotNull(em["total_act_power"]);
        var kvs = plug.Call("KVS.Set", new JsonObject { ["key"] = "k", ["value"] = 42 })!;
        Assert.Equal(42, plug.Call("KVS.Get", new JsonObject { ["key"] = "k" })!["value"]!.GetValue<int>());
        Assert.Equal(kvs["etag"]!.GetValue<string>(), plug.Call("KVS.Get", new JsonObject { ["key"] = "k" })!["etag"]!.GetValue<string>());
        var script = plug.Call("Script.Create", new JsonObject { ["name"] = "s" })!["id"]!.GetValue<int>();
        Assert.False(plug.Call("Script.Start", new JsonObject { ["id"] = script })!["was_running"]!.GetValue<bool>());
    }

    [Fact]
    public void Tick_reports_changing_power_and_energy()
    {
        var plug = new SimDevice(SimProfile.Plus1PM, 0);
        plug.Call("Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true });
        var frames = new List<JsonObject>();
        plug.Notify += frames.Add;
        var before = plug.Status("switch:0")!["aenergy"]!["total"]!.GetValue<double>();
        plug.Tick(TimeSpan.FromMinutes(10));
        var frame = Assert.Single(frames);
        Assert.Equal("NotifyStatus", frame["method"]!.GetValue<string>());
        Assert.NotNull(frame["params"]!["ts"]);
        Assert.True(frame["params"]!["switch:0"]!["apower"]!.GetValue<double>() > 2000);
        Assert.True(plug.Status("switch:0")!["aenergy"]!["total"]!.GetValue<double>() > before + 300);
    }

    [Fact]
    public async Task Local_rpc_requires_digest_auth_when_a_password_is_set()
    {
        var d = new SimDevice(SimProfile.Plus1PM, 5, password: "pw");
        await using var local = await LocalRpcServer.StartAsync([d]);
        using var http = new HttpClient();
        var info = await http.GetStringAsync(local.AddressOf(d) + "/rpc/Shelly.GetDeviceInfo");
        Assert.Contains(d.Id, info, StringComparison.Ordinal);
        using var denied = await http.GetAsync(local.AddressOf(d) + "/rpc/Switch.GetStatus?id=0");
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Contains("SHA-256", denied.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        // JSON-RPC over the local websocket: 401 challenge, then the digest answer.
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(local.AddressOf(d).Replace("http", "ws", StringComparison.Ordinal) + "/rpc"), CancellationToken.None);
        async Task<JsonObject> Rpc(JsonObject frame)
        {
            await ws.SendAsync(Encoding.UTF8.GetBytes(frame.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
            var buffer = new byte[8192];
            var r = await ws.ReceiveAsync(buffer, CancellationToken.None);
            return JsonNode.Parse(buffer.AsSpan(0, r.Count))!.AsObject();
        }
        var challenge = await Rpc(new JsonObject { ["id"] = 1, ["src"] = "t", ["method"] = "Switch.GetStatus", ["params"] = new JsonObject { ["id"] = 0 } });
        Assert.Equal(401, challenge["error"]!["code"]!.GetValue<int>());
        var message = challenge["error"]!["message"]!.GetValue<string>();
        Assert.Equal(d.Id, JsonNode.Parse(message)!["realm"]!.GetValue<string>());
        var ok = await Rpc(new JsonObject { ["id"] = 2, ["src"] = "t", ["method"] = "Switch.GetStatus", ["params"] = new JsonObject { ["id"] = 0 }, ["auth"] = ShellyDigest.Answer(message, "pw") });
        Assert.Equal(0, ok["result"]!["id"]!.GetValue<int>());
        var bad = await Rpc(new JsonObject { ["id"] = 3, ["src"] = "t", ["method"] = "Switch.GetStatus", ["params"] = new JsonObject { ["id"] = 0 }, ["auth"] = ShellyDigest.Answer(message, "wrong") });
        Assert.Equal(401, bad["error"]!["code"]!.GetValue<int>());
    }

    [Fact]
    public void Frames_for_another_device_are_dropped_silently()
    {
        var d = new SimDevice(SimProfile.Plus1PM, 6);
        Assert.Null(d.HandleFrame(new JsonObject { ["id"] = 1, ["src"] = "x", ["dst"] = "someone-else", ["method"] = "Switch.Toggle", ["params"] = new JsonObject { ["id"] = 0 } }, "WS_in", false));
        Assert.False(d.Status("switch:0")!["output"]!.GetValue<bool>());
        Assert.Null(d.HandleFrame(new JsonObject { ["src"] = "x", ["method"] = "Switch.Toggle", ["params"] = new JsonObject { ["id"] = 0 } }, "WS_in", false));
        Assert.True(d.Status("switch:0")!["output"]!.GetValue<bool>());
    }
}
