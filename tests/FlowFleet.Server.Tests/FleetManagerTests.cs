using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Server.Auth;
using Microsoft.Extensions.DependencyInjection;
using static FlowFleet.Server.Tests.FleetApiTests;

namespace FlowFleet.Server.Tests;

/// <summary>
/// Shelly fleet manager's clients unchanged against FlowFleet: its web UI's websocket (token as subprotocol, path <c>/</c>),
/// its frames (FleetManager.Subscribe from its UI code, Device.*, relay incl. batches, waiting room, groups) and its HTTP
/// <c>/rpc</c> paths — frames as in FM's docs (rpc_relay.md, api.md, events.md).
/// </summary>
public sealed class FleetManagerTests
{
    // FM's web UI subscribes with exactly this (frontend/src/tools/websocket.ts, getConnectionParams).
    private const string UiSubscribe = """
        {"events":["Shelly.Connect","Shelly.Disconnect","Shelly.Delete","Shelly.Status","Shelly.Settings","Shelly.KVS","Shelly.Info","Shelly.Presence",
        "Entity.Added","Entity.Removed","Entity.Event","NotifyStatus","NotifyEvent","Console.Log","BTHome.DiscoveryResult"],
        "options":{"events":{"Shelly.Status":{"deny":["*:aenergy","*:consumption","em:*","em1:*","emdata:*","emdata1:*","wifi:*"]}}}}
        """;

    [Fact]
    public async Task The_web_ui_protocol_subscribes_lists_gets_calls_and_relays()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        await using var fleet = new SimFleet(s.ShellyUrl, 3, "plus1pm", FastSim);
        await fleet.StartAsync();
        await WaitOnline(s, 3);
        var ids = fleet.Devices.Select(d => d.Id).OrderBy(x => x, StringComparer.Ordinal).ToList();
        await using var ui = await FmClient.ConnectAsync(s, await s.TokenAsync());
        Assert.False(string.IsNullOrEmpty(ui.SubProtocol));

        var sub = await ui.CallAsync(1, "FleetManager.Subscribe", UiSubscribe);
        Assert.Equal("FLEET_MANAGER", sub["src"]!.GetValue<string>());
        Assert.Equal("FLEET_MANAGER_UI", sub["dst"]!.GetValue<string>());
        Assert.Equal(15, sub["result"]!["ids"]!.AsArray().Count);

        var list = (await ui.CallAsync(2, "device.list"))["result"]!.AsObject();
        Assert.Equal(ids, list.Select(kv => kv.Key).OrderBy(x => x, StringComparer.Ordinal).ToList());
        Assert.All(list, kv => Assert.Equal("online", kv.Value!["presence"]!.GetValue<string>()));
        Assert.Equal(kv0(list)["shellyID"]!.GetValue<string>(), kv0(list)["info"]!["id"]!.GetValue<string>());
        Assert.NotNull(kv0(list)["settings"]!["switch:0"]);

        var get = (await ui.CallAsync(3, "Device.Get", $$"""{"shellyID":"{{ids[0]}}"}"""))["result"]!;
        Assert.Equal(ids[0], get["shellyID"]!.GetValue<string>());
        Assert.Equal("ws", get["source"]!.GetValue<string>());

        // Device.Call answers the device's result (it used to run the command and answer -32602 "The node already has a parent").
        var call = await ui.CallAsync(4, "Device.Call", $$$"""{"shellyID":"{{{ids[0]}}}","method":"Switch.Set","params":{"id":0,"on":true}}""");
        Assert.False(call["result"]!["was_on"]!.GetValue<bool>());
        Assert.True(fleet.Devices.Single(d => d.Id == ids[0]).Status("switch:0")!["output"]!.GetValue<bool>());

        var unknown = await ui.CallAsync(5, "Device.Get", """{"shellyID":"shellyplus1pm-ffffffffffff"}""");
        Assert.Equal(-32600, unknown["error"]!["code"]!.GetValue<int>());
        Assert.Equal(-32601, (await ui.CallAsync(6, "NoSuch.Method"))["error"]!["code"]!.GetValue<int>());

        // Relay (rpc_relay.md): the MAC part alone names the device; the answer comes from the device to the caller.
        var mac = ids[1][(ids[1].IndexOf('-', StringComparison.Ordinal) + 1)..];
        await ui.SendAsync($$"""{"id":11,"dst":"{{mac}}","method":"ws.getconfig","src":"kalin"}""");
        var relayed = (await ui.WaitAsync(f => f["id"]?.ToJsonString() == "11", "relay answer"))[0];
        Assert.Equal(ids[1], relayed["src"]!.GetValue<string>());
        Assert.Equal("kalin", relayed["dst"]!.GetValue<string>());
        Assert.NotNull(relayed["result"]);

        // Multiple requests, multiple devices: a batch.
        await ui.SendAsync($$"""[{"id":12,"dst":"{{ids[1]}}","method":"Shelly.GetDeviceInfo","src":"kalin"},{"id":13,"dst":"{{ids[2]}}","method":"Shelly.GetDeviceInfo","src":"kalin"}]""");
        await ui.WaitAsync(f => f["id"]?.ToJsonString() is "12" or "13" && f["result"] is not null, "batch answers", 2);

        await ui.SendAsync("""{"id":14,"dst":"3ce90e30583c","method":"ws.getconfig","src":"kalin"}""");
        var none = (await ui.WaitAsync(f => f["id"]?.ToJsonString() == "14", "no such device"))[0];
        Assert.Equal(-32600, none["error"]!["code"]!.GetValue<int>());
        Assert.Equal("No such device", none["error"]!["message"]!.GetValue<string>());
        Assert.Equal("FLEET_MANAGER", none["src"]!.GetValue<string>());

        // Events as FM sends them: the whole status; deny rules drop energy-only updates (the sim reports power every 300 ms), a switched output passes.
        // The simulator reports whole switch components (with aenergy), which the UI's deny rules drop, as FM does; a
        // subscription without rules for one device gets them.
        await ui.CallAsync(19, "FleetManager.Subscribe", $$$"""{"events":["Shelly.Status"],"options":{"shellyIDs":["{{{ids[0]}}}"]}}""");
        var status = (await ui.WaitAsync(f => FmClient.IsEvent(f, "Shelly.Status", ids[0]), "Shelly.Status of the switched device"))[0];
        Assert.Empty(ui.Frames(f => FmClient.IsEvent(f, "Shelly.Status") && f["params"]!["status"]!["switch:0"] is null));
        Assert.NotNull(status["params"]!["status"]!["sys"]);
        Assert.NotNull(status["params"]!["status"]!["switch:0"]);

        // Shelly.Message: device answers carry the request that caused them.
        await ui.CallAsync(20, "FleetManager.Subscribe", $$$"""{"events":["Shelly.Message"],"options":{"shellyIDs":["{{{ids[2]}}}"]}}""");
        await ui.SendAsync($$"""{"id":21,"dst":"{{ids[2]}}","method":"Switch.Toggle","params":{"id":0},"src":"kalin"}""");
        var message = (await ui.WaitAsync(f => FmClient.IsEvent(f, "Shelly.Message", ids[2]) && f["params"]!["req"]?["method"]?.GetValue<string>() == "Switch.Toggle", "Shelly.Message with req", timeoutMs: 30_000))[0];
        Assert.NotNull(message["params"]!["message"]!["result"]!["was_on"]);
        Assert.Empty(ui.Frames(f => FmClient.IsEvent(f, "Shelly.Message") && f["params"]!["shellyID"]!.GetValue<string>() != ids[2]));

        // A disconnect: Shelly.Disconnect and presence offline.
        await fleet.Connections.Single(c => c.Device.Id == ids[2]).DisposeAsync();
        await ui.WaitAsync(f => FmClient.IsEvent(f, "Shelly.Disconnect", ids[2]), "Shelly.Disconnect");
        await ui.WaitAsync(f => FmClient.IsEvent(f, "Shelly.Presence", ids[2]) && f["params"]!["presence"]!.GetValue<string>() == "offline", "presence offline");
        var unsub = await ui.CallAsync(30, "FleetManager.Unsubscribe", "{\"ids\":[" + string.Join(',', sub["result"]!["ids"]!.AsArray().Select(x => x!.ToJsonString())) + "]}");
        Assert.Null(unsub["error"]);

        static JsonObject kv0(JsonObject o) => o.First().Value!.AsObject();
    }

    [Fact]
    public async Task Entities_and_numeric_ids_work_as_the_web_ui_uses_them()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        await using var ui = await FmClient.ConnectAsync(s, await s.TokenAsync());
        await ui.CallAsync(1, "FleetManager.Subscribe", UiSubscribe);
        await using var fleet = new SimFleet(s.ShellyUrl, 2, "plus1pm", FastSim);
        await fleet.StartAsync();
        await WaitOnline(s, 2);
        var sim = fleet.Devices.OrderBy(d => d.Id, StringComparer.Ordinal).First();
        var output = $"{sim.Id}_0:out";

        // Entity.Added when the device connects; entity.list as the UI loads it (EntityComposer's ids and shapes).
        await ui.WaitAsync(f => FmClient.IsEvent(f, "Entity.Added") && f["params"]!["entityId"]!.GetValue<string>() == output, "Entity.Added");
        var entities = (await ui.CallAsync(2, "entity.list"))["result"]!.AsObject();
        var sw = entities[output]!;
        Assert.Equal("switch", sw["type"]!.GetValue<string>());
        Assert.Equal(sim.Id, sw["source"]!.GetValue<string>());
        Assert.Equal(0, sw["properties"]!["id"]!.GetValue<int>());
        Assert.Equal("input", entities[$"{sim.Id}_0:input"]!["type"]!.GetValue<string>());
        Assert.Equal(4, entities.Count); // two devices, each an input and an output
        Assert.Equal(sw.ToJsonString(), (await ui.CallAsync(3, "entity.getinfo", $$"""{"id":"{{output}}"}"""))["result"]!.ToJsonString());
        Assert.NotNull((await ui.CallAsync(4, "Entity.GetStatus", $$"""{"id":"{{output}}"}"""))["result"]!["output"]);

        // FM's numeric device id: in the device object, accepted by Device.Get and as a relay dst.
        var device = (await ui.CallAsync(5, "device.list"))["result"]![sim.Id]!;
        var number = device["id"]!.GetValue<long>();
        Assert.Equal(Convert.ToInt64(sim.Id[(sim.Id.LastIndexOf('-') + 1)..], 16), number);
        Assert.Contains(output, device["entities"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.Equal(sim.Id, (await ui.CallAsync(6, "Device.Get", $$"""{"id":{{number}}}"""))["result"]!["shellyID"]!.GetValue<string>());
        await ui.SendAsync($$"""{"jsonrpc":"2.0","id":7,"method":"Shelly.GetDeviceInfo","src":"FLEET_MANAGER_UI","dst":"{{number}}"}""");
        Assert.Equal(sim.Id, (await ui.WaitAsync(f => f["id"]?.ToJsonString() == "7", "relay by number"))[0]["result"]!["id"]!.GetValue<string>());

        // The power button of the entity widget (EntityWidget.actionClicked): "<type>.toggle" with properties.id to source,
        // answered from the device to FLEET_MANAGER_UI (so the UI's is_rpc_response accepts it) — and toggled exactly once.
        var before = sim.Status("switch:0")!["output"]!.GetValue<bool>();
        await ui.SendAsync($$$"""{"jsonrpc":"2.0","id":8,"method":"switch.toggle","src":"FLEET_MANAGER_UI","dst":"{{{sim.Id}}}","params":{"id":0}}""");
        var answer = (await ui.WaitAsync(f => f["id"]?.ToJsonString() == "8", "toggle answer"))[0];
        Assert.Equal(sim.Id, answer["src"]!.GetValue<string>());
        Assert.Equal("FLEET_MANAGER_UI", answer["dst"]!.GetValue<string>());
        Assert.Equal(before, answer["result"]!["was_on"]!.GetValue<bool>());
        Assert.Equal(!before, sim.Status("switch:0")!["output"]!.GetValue<bool>());

        // A button press on the device is its input entity's Entity.Event; deleting the device removes its entities.
        sim.Press(0);
        await ui.WaitAsync(f => FmClient.IsEvent(f, "Entity.Event") && f["params"]!["entityId"]!.GetValue<string>() == $"{sim.Id}_0:input"
            && f["params"]!["event"]!.GetValue<string>() == "single_push", "Entity.Event");
        Assert.Null((await ui.CallAsync(9, "Device.Delete", $$"""{"shellyID":"{{sim.Id}}"}"""))["error"]);
        await ui.WaitAsync(f => FmClient.IsEvent(f, "Entity.Removed") && f["params"]!["entityId"]!.GetValue<string>() == output, "Entity.Removed");
        Assert.False((await ui.CallAsync(10, "entity.list"))["result"]!.AsObject().ContainsKey(output));
    }

    [Fact]
    public async Task The_waiting_room_and_groups_work_as_in_fleet_manager()
    {
        await using var s = await ServerFixture.StartAsync();
        await using var ui = await FmClient.ConnectAsync(s, await s.TokenAsync());
        await ui.CallAsync(1, "FleetManager.Subscribe", """{"events":["Shelly.Connect","Shelly.Presence"]}""");
        await using var fleet = new SimFleet(s.ShellyUrl, 2, "plus1pm", FastSim);
        await fleet.StartAsync();
        var ids = fleet.Devices.Select(d => d.Id).ToList();
        await ui.WaitAsync(f => FmClient.IsEvent(f, "Shelly.Presence") && f["params"]!["presence"]!.GetValue<string>() == "pending", "pending presence", 2);

        var pending = (await ui.CallAsync(2, "Device.GetPending"))["result"]!.AsObject();
        Assert.Equal(ids.Order(StringComparer.Ordinal), pending.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        var accepted = (await ui.CallAsync(3, "Device.AcceptPending", $$"""{"shellyIDs":["{{ids[0]}}","shellyplus1pm-ffffffffffff"]}"""))["result"]!;
        Assert.Equal(ids[0], accepted["success"]![0]!.GetValue<string>());
        Assert.Equal("shellyplus1pm-ffffffffffff", accepted["error"]![0]!.GetValue<string>());
        var connect = (await ui.WaitAsync(f => FmClient.IsEvent(f, "Shelly.Connect", ids[0]), "Shelly.Connect"))[0];
        Assert.Equal(ids[0], connect["params"]!["device"]!["shellyID"]!.GetValue<string>());
        Assert.Equal("online", connect["params"]!["device"]!["presence"]!.GetValue<string>());
        Assert.NotNull(connect["params"]!["device"]!["status"]!["switch:0"]);

        var rejected = (await ui.CallAsync(4, "WaitingRoom.RejectPending", $$"""{"shellyIDs":["{{ids[1]}}"]}"""))["result"]!;
        Assert.Equal(ids[1], rejected["success"]![0]!.GetValue<string>());
        Assert.True((await ui.CallAsync(5, "WaitingRoom.GetDenied"))["result"]!.AsObject().ContainsKey(ids[1]));
        Assert.False((await ui.CallAsync(6, "Device.GetPending"))["result"]!.AsObject().ContainsKey(ids[1]));

        var group = (await ui.CallAsync(7, "Group.Create", $$"""{"name":"Kitchen","devices":["{{ids[0]}}"]}"""))["result"]!;
        var gid = group["id"]!.GetValue<int>();
        Assert.Equal(ids[0], group["devices"]![0]!.GetValue<string>());
        var groups = (await ui.CallAsync(8, "group.list"))["result"]!.AsObject();
        Assert.Equal("Kitchen", groups[gid.ToString(System.Globalization.CultureInfo.InvariantCulture)]!["name"]!.GetValue<string>());
        Assert.True((await ui.CallAsync(9, "Group.Rename", $$"""{"id":{{gid}},"newName":"Kitchen Upstairs"}"""))["result"]!["renamed"]!.GetValue<bool>());
        Assert.True((await ui.CallAsync(10, "Group.Remove", $$"""{"id":{{gid}},"shellyID":"{{ids[0]}}"}"""))["result"]!["removed"]!.GetValue<bool>());
        Assert.False((await ui.CallAsync(11, "Group.Remove", $$"""{"id":{{gid}},"shellyID":"{{ids[0]}}"}"""))["result"]!["removed"]!.GetValue<bool>());
        Assert.True((await ui.CallAsync(12, "Group.Delete", $$"""{"id":{{gid}}}"""))["result"]!["deleted"]!.GetValue<bool>());

        Assert.Null((await ui.CallAsync(13, "Storage.SetItem", """{"registry":"ui","key":"theme","value":{"dark":true}}"""))["error"]);
        Assert.True((await ui.CallAsync(14, "Storage.GetItem", """{"registry":"ui","key":"theme"}"""))["result"]!["dark"]!.GetValue<bool>());
        var commands = (await ui.CallAsync(15, "FleetManager.ListCommands"))["result"]!.AsArray().Select(x => x!.GetValue<string>());
        Assert.Contains("device", commands);
        Assert.Equal(1, (await ui.CallAsync(16, "FleetManager.GetStatus"))["result"]!["device"]!["devices_size"]!.GetValue<int>());
    }

    [Fact]
    public async Task Http_rpc_paths_authenticate_and_answer_fm_shapes_with_roles_applied()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        await s.App.Services.GetRequiredService<UserService>().AddAsync("vera", Roles.Viewer, "viewer-pass-1");
        await using var fleet = new SimFleet(s.ShellyUrl, 1, "plus1pm", FastSim);
        await fleet.StartAsync();
        await WaitOnline(s, 1);
        var id = fleet.Devices.Single().Id;

        // Login as FM's UI does (frontend/src/tools/http.ts): POST /rpc {method:"User.Authenticate"}.
        var login = await (await s.Client.PostAsJsonAsync("/rpc", new { method = "User.Authenticate", @params = new { username = "admin", password = ServerFixture.AdminPassword } })).Content.ReadFromJsonAsync<JsonObject>();
        var token = login!["access_token"]!.GetValue<string>();
        Assert.False(string.IsNullOrEmpty(login["refresh_token"]?.GetValue<string>()));
        // FM's UI decides it is logged in by reading the token as a JWT (username, exp).
        var payload = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        var claims = JsonNode.Parse(Convert.FromBase64String(payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=')))!;
        Assert.Equal("admin", claims["username"]!.GetValue<string>());
        Assert.True(claims["exp"]!.GetValue<long>() > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var bad = await (await s.Client.PostAsJsonAsync("/rpc", new { method = "User.Authenticate", @params = new { username = "admin", password = "nope" } })).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(-32600, bad!["error"]!["code"]!.GetValue<int>());

        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client.GetAsync("/rpc/Device.List")).StatusCode);
        using var admin = s.Authorized(token);
        var list = await admin.GetFromJsonAsync<JsonObject>("/rpc/Device.List");
        Assert.Equal("online", list![id]!["presence"]!.GetValue<string>());
        var get = await (await admin.PostAsJsonAsync("/rpc/device.get", new { shellyID = id })).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(id, get!["shellyID"]!.GetValue<string>());
        var call = await (await admin.PostAsJsonAsync("/rpc", new { method = "Device.Call", @params = new { shellyID = id, method = "Switch.Set", @params = new { id = 0, on = true } } })).Content.ReadFromJsonAsync<JsonObject>();
        Assert.False(call!["was_on"]!.GetValue<bool>());

        using var viewer = s.Authorized(await s.TokenAsync("vera", "viewer-pass-1"));
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/rpc/Device.List")).StatusCode);
        var denied = await viewer.PostAsJsonAsync("/rpc/Device.Call", new { shellyID = id, method = "Switch.Set", @params = new { id = 0, on = false } });
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.True(fleet.Devices.Single().Status("switch:0")!["output"]!.GetValue<bool>());

        // A device's own error is not FlowFleet's: 502 saying the device answered; an offline device is 503 from FlowFleet.
        var deviceError = await admin.PostAsJsonAsync($"/api/devices/{id}/rpc", new { method = "No.Such" });
        Assert.Equal(HttpStatusCode.BadGateway, deviceError.StatusCode);
        Assert.Equal("device", (await deviceError.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["source"]!.GetValue<string>());
        await fleet.Connections.Single().DisposeAsync();
        await Poll.UntilAsync(() => Task.FromResult(s.App.Services.GetRequiredService<FlowFleet.Fleet.Hub.DeviceHub>().OnlineCount == 0), "offline");
        var offline = await admin.PostAsJsonAsync($"/api/devices/{id}/rpc", new { method = "Shelly.GetStatus" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, offline.StatusCode);
        Assert.Equal("flowfleet", (await offline.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["source"]!.GetValue<string>());

        // The UI at / is untouched by FM's websocket path.
        Assert.NotEqual(HttpStatusCode.NotFound, (await s.Client.GetAsync("/")).StatusCode);
        Assert.Equal("{\"online\":true}", await s.Client.GetStringAsync("/health"));
    }

    [Fact]
    public async Task FlowFleets_own_device_call_with_an_id_answers_the_result()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        await using var fleet = new SimFleet(s.ShellyUrl, 1, "plus1pm", FastSim);
        await fleet.StartAsync();
        await WaitOnline(s, 1);
        var id = fleet.Devices.Single().Id;
        await using var c = await FmClient.ConnectAsync(s, await s.TokenAsync(), "/client");
        await c.SendAsync("""{"jsonrpc":"2.0","id":1,"method":"Device.Call","params":{"id":""" + "\"" + id + "\"" + ""","method":"Switch.Toggle","params":{"id":0}}}""");
        var answer = (await c.WaitAsync(f => f["id"]?.ToJsonString() == "1", "Device.Call answer"))[0];
        Assert.Null(answer["error"]);
        Assert.False(answer["result"]!["was_on"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Fm_websocket_path_refuses_without_a_valid_token()
    {
        await using var s = await ServerFixture.StartAsync();
        var ex = await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => FmClient.ConnectAsync(s, "not-a-token"));
        Assert.Contains("401", ex.Message, StringComparison.Ordinal);
    }
}
