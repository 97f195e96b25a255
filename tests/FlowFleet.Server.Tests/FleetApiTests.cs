using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using FlowFleet.Server.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>The fleet's REST API and the /client websocket on a real server with simulated devices.</summary>
public sealed class FleetApiTests
{
    internal static readonly SimOptions FastSim = new() { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromMilliseconds(300) };

    internal static Task WaitOnline(ServerFixture s, int count) =>
        Poll.UntilAsync(() => Task.FromResult(s.App.Services.GetRequiredService<DeviceHub>().OnlineCount >= count), $"{count} devices online");

    [Fact]
    public async Task Devices_connect_directly_unless_the_setting_turns_it_off()
    {
        foreach (var (setting, direct) in new[] { ("true", 1L), ("False", 0L) })
        {
            await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto", "--Fleet:DirectConnections", setting]);
            await using var fleet = new SimFleet(s.ShellyUrl, 1, "plus1pm", FastSim);
            await fleet.StartAsync();
            await WaitOnline(s, 1);
            Assert.Equal(direct, s.App.Services.GetRequiredService<DeviceHub>().DirectConnections);
        }
    }

    [Fact]
    public async Task Devices_list_get_and_rpc_through_rest()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        await using var fleet = new SimFleet(s.ShellyUrl, 6, "mix", FastSim);
        await fleet.StartAsync();
        await WaitOnline(s, 6);
        using var admin = await s.AdminAsync();

        var page = await admin.GetFromJsonAsync<JsonObject>("/api/devices?sort=id&limit=2&offset=1");
        Assert.Equal(6, page!["total"]!.GetValue<int>());
        var items = page["items"]!.AsArray();
        Assert.Equal(2, items.Count);
        Assert.Equal("shellyplus1pm-c0ffee000001", items[0]!["id"]!.GetValue<string>());
        foreach (var key in new[] { "id", "name", "model", "app", "gen", "online" })
        {
            Assert.True(items[0]!.AsObject().ContainsKey(key), key);
        }
        var covers = await admin.GetFromJsonAsync<JsonObject>("/api/devices?model=Plus2PM");
        Assert.Equal(1, covers!["total"]!.GetValue<int>());

        var plug = "shellyplus1pm-c0ffee000000";
        var device = await admin.GetFromJsonAsync<JsonObject>($"/api/devices/{plug}");
        Assert.Equal("Plus1PM", device!["info"]!["app"]!.GetValue<string>());
        Assert.NotNull(device["status"]!["switch:0"]);

        using var rpc = await admin.PostAsJsonAsync($"/api/devices/{plug}/rpc", new { method = "Switch.Set", @params = new { id = 0, on = true } });
        Assert.Equal(HttpStatusCode.OK, rpc.StatusCode);
        Assert.False((await rpc.Content.ReadFromJsonAsync<JsonObject>())!["was_on"]!.GetValue<bool>());
        Assert.True(fleet[plug].Status("switch:0")!["output"]!.GetValue<bool>());

        using var bad = await admin.PostAsJsonAsync($"/api/devices/{plug}/rpc", new { method = "Switch.Set", @params = new { id = 3, on = true } });
        Assert.Equal(HttpStatusCode.BadGateway, bad.StatusCode);
        Assert.Equal(-105, (await bad.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["code"]!.GetValue<int>());
        using var offline = await admin.PostAsJsonAsync("/api/devices/shellyplus1pm-ffffffffffff/rpc", new { method = "Switch.Toggle", @params = new { id = 0 } });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, offline.StatusCode);

        var audit = await admin.GetFromJsonAsync<JsonArray>($"/api/audit?device={plug}");
        await Poll.UntilAsync(async () => (await admin.GetFromJsonAsync<JsonArray>($"/api/audit?device={plug}"))!.Any(a => a!["method"]!.GetValue<string>() == "Switch.Set" && a["user"]!.GetValue<string>() == "admin"), "audit row");
        Assert.NotNull(audit);
    }

    [Fact]
    public async Task Groups_tags_mass_rpc_and_desired_state()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        await using var fleet = new SimFleet(s.ShellyUrl, 5, "plus1pm", FastSim);
        await fleet.StartAsync();
        await WaitOnline(s, 5);
        using var admin = await s.AdminAsync();
        var ids = fleet.Devices.Select(d => d.Id).ToList();

        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/groups", new { name = "kitchen" })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsJsonAsync("/api/groups", new { name = "kitchen" })).StatusCode);
        foreach (var id in ids.Take(3))
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/api/groups/kitchen/devices/{id}", null)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/devices/{ids[4]}", new { name = "Garage", tags = new[] { "outdoor" } })).StatusCode);
        var tagged = await admin.GetFromJsonAsync<JsonObject>("/api/devices?tag=outdoor");
        Assert.Equal("Garage", tagged!["items"]![0]!["name"]!.GetValue<string>());

        using var mass = await admin.PostAsJsonAsync("/api/rpc", new { targets = new[] { "group:kitchen", "tag:outdoor" }, method = "Switch.Set", @params = new { id = 0, on = true } });
        var results = await mass.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(4, results!["ok"]!.GetValue<int>());
        Assert.Equal(4, fleet.Devices.Count(d => d.Status("switch:0")!["output"]!.GetValue<bool>()));
        Assert.False(fleet[ids[3]].Status("switch:0")!["output"]!.GetValue<bool>());

        using var desired = await admin.PutAsJsonAsync($"/api/devices/{ids[3]}/desired", new JsonObject { ["switch:0"] = new JsonObject { ["output"] = true } });
        Assert.Contains("Switch.Set", (await desired.Content.ReadAsStringAsync()));
        Assert.True(fleet[ids[3]].Status("switch:0")!["output"]!.GetValue<bool>());
        var view = await admin.GetFromJsonAsync<JsonObject>($"/api/devices/{ids[3]}/desired");
        Assert.True(view!["desired"]!["switch:0"]!["output"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Waiting_room_accept_and_enrollment_tokens()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        await using var fleet = new SimFleet(s.ShellyUrl, 1, "plus1pm", FastSim);
        var id = fleet.Devices.Single().Id;
        await fleet.StartAsync();
        await Poll.UntilAsync(async () => (await admin.GetFromJsonAsync<JsonObject>("/api/devices/pending"))!["total"]!.GetValue<int>() == 1, "pending");
        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonObject>("/api/devices"))!["total"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/devices/{id}/accept", null)).StatusCode);
        var list = await admin.GetFromJsonAsync<JsonObject>("/api/devices");
        Assert.True(list!["items"]![0]!["online"]!.GetValue<bool>());

        using var created = await admin.PostAsJsonAsync("/api/enrollment-tokens", new { name = "site A" });
        var token = await created.Content.ReadFromJsonAsync<JsonObject>();
        Assert.StartsWith($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}/shelly?token=", token!["url"]!.GetValue<string>(), StringComparison.Ordinal);
        await using var enrolled = new SimFleet(token["url"]!.GetValue<string>(), 1, "dimmer", FastSim, firstIndex: 50);
        await enrolled.StartAsync();
        await WaitOnline(s, 2);
    }

    [Fact]
    public async Task Roles_limit_fleet_access()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        var users = s.App.Services.GetRequiredService<UserService>();
        await users.AddAsync("vera", Roles.Viewer, "viewer-pass-1");
        await users.AddAsync("otto", Roles.Operator, "operator-pass-1");
        await using var fleet = new SimFleet(s.ShellyUrl, 1, "plus1pm", FastSim);
        await fleet.StartAsync();
        await WaitOnline(s, 1);
        var id = fleet.Devices.Single().Id;
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client.GetAsync("/api/devices")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client.PostAsJsonAsync($"/api/devices/{id}/rpc", new { method = "Switch.Toggle", @params = new { id = 0 } })).StatusCode);
        using var viewer = s.Authorized(await s.TokenAsync("vera", "viewer-pass-1"));
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/devices")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/api/devices/{id}/rpc", new { method = "Switch.Toggle", @params = new { id = 0 } })).StatusCode);
        using var op = s.Authorized(await s.TokenAsync("otto", "operator-pass-1"));
        Assert.Equal(HttpStatusCode.OK, (await op.PostAsJsonAsync($"/api/devices/{id}/rpc", new { method = "Switch.Toggle", @params = new { id = 0 } })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await op.PostAsync("/red/flows", AuthTests.Json("[]"))).StatusCode);
        Assert.False(fleet.Devices.Single().Status("switch:0") is null);
    }

    [Fact]
    public async Task Client_websocket_relays_rpc_and_pushes_events()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        await using var fleet = new SimFleet(s.ShellyUrl, 3, "plus1pm", FastSim);
        await fleet.StartAsync();
        await WaitOnline(s, 3);
        var token = await s.TokenAsync();
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}/client?access_token={token}"), CancellationToken.None);
        var inbox = new List<JsonObject>();
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[1 << 20];
            try
            {
                // Open or CloseSent: after the test's CloseOutputAsync the server's close frame is still to be read, and only
                // reading it sets CloseStatus (stopping at CloseSent left it null whenever the loop came round in between).
                while (ws.State is WebSocketState.Open or WebSocketState.CloseSent)
                {
                    var r = await ws.ReceiveAsync(buffer, CancellationToken.None);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    lock (inbox)
                    {
                        inbox.Add(JsonNode.Parse(buffer.AsSpan(0, r.Count))!.AsObject());
                    }
                }
            }
            catch (WebSocketException)
            {
            }
        });
        Task Send(string json) => ws.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);
        async Task<List<JsonObject>> Answers(object id, int count)
        {
            await Poll.UntilAsync(() => { lock (inbox) { return Task.FromResult(inbox.Count(f => f["id"]?.ToJsonString() == System.Text.Json.JsonSerializer.Serialize(id)) >= count); } }, $"answer {id}");
            lock (inbox)
            {
                return inbox.Where(f => f["id"]?.ToJsonString() == System.Text.Json.JsonSerializer.Serialize(id)).ToList();
            }
        }

        await Send("""{"jsonrpc":"2.0","id":1,"method":"Events.Subscribe","params":{"events":["Shelly.Status","Shelly.Presence"]}}""");
        await Answers(1, 1);
        await Send("""{"jsonrpc":"2.0","id":2,"method":"Device.List","params":{}}""");
        Assert.Equal(3, (await Answers(2, 1))[0]["result"]!["total"]!.GetValue<int>());

        var ids = fleet.Devices.Select(d => d.Id).ToList();
        await Send($$$"""{"id":"relay-1","src":"ui","dst":"{{{ids[0]}}}","method":"Switch.Set","params":{"id":0,"on":true}}""");
        var relay = (await Answers("relay-1", 1))[0];
        Assert.Equal(ids[0], relay["src"]!.GetValue<string>());
        Assert.False(relay["result"]!["was_on"]!.GetValue<bool>());

        await Send($$"""{"id":7,"src":"ui","dst":["{{ids[1]}}","{{ids[2]}}","shellyplus1pm-ffffffffffff"],"method":"Shelly.GetDeviceInfo"}""");
        var many = await Answers(7, 3);
        Assert.Equal(2, many.Count(a => a["result"] is not null));
        Assert.Equal(-32600, many.Single(a => a["error"] is not null)["error"]!["code"]!.GetValue<int>());

        await Poll.UntilAsync(() => { lock (inbox) { return Task.FromResult(inbox.Any(f => f["method"]?.GetValue<string>() == "Shelly.Status" && f["params"]!["shellyID"]!.GetValue<string>() == ids[0])); } }, "status push");
        await Send("not json");
        await Poll.UntilAsync(() => { lock (inbox) { return Task.FromResult(inbox.Any(f => f["error"]?["code"]?.GetValue<int>() == -32700)); } }, "parse error answer");
        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        await reader.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
    }

    [Fact]
    public async Task Client_websocket_refuses_unauthenticated_connections()
    {
        await using var s = await ServerFixture.StartAsync();
        using var ws = new ClientWebSocket();
        var ex = await Assert.ThrowsAsync<WebSocketException>(() => ws.ConnectAsync(new Uri($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}/client"), CancellationToken.None));
        Assert.Contains("401", ex.Message, StringComparison.Ordinal);
    }
}
