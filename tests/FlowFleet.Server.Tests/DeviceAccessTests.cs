using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Server.Auth;

namespace FlowFleet.Server.Tests;

/// <summary>A user limited to some device groups reaches only their members, over REST and /client; others see all.</summary>
public sealed class DeviceAccessTests
{
    [Fact]
    public async Task A_limited_user_sees_and_drives_only_the_devices_of_their_groups()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        await using var fleet = new SimFleet(s.ShellyUrl, 4, "plus1pm", FleetApiTests.FastSim);
        await fleet.StartAsync();
        await FleetApiTests.WaitOnline(s, 4);
        using var admin = await s.AdminAsync();
        var ids = (await admin.GetFromJsonAsync<JsonObject>("/api/devices?sort=id"))!["items"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()).ToList();
        var (mine, theirs) = (ids[0], ids[1]);
        await admin.PostAsJsonAsync("/api/groups", new { name = "kitchen" });
        await admin.PostAsJsonAsync("/api/groups", new { name = "plant" });
        await admin.PutAsync($"/api/groups/kitchen/devices/{mine}", null);
        await admin.PutAsync($"/api/groups/plant/devices/{theirs}", null);
        var added = await admin.PostAsJsonAsync("/api/users", new { name = "kim", role = Roles.Operator, password = "operator-pw-1", groups = new[] { "kitchen" } });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal("kitchen", (await added.Content.ReadFromJsonAsync<JsonObject>())!["groups"]![0]!.GetValue<string>());
        await admin.PostAsJsonAsync("/api/users", new { name = "una", role = Roles.Operator, password = "operator-pw-2" });
        using var kim = s.Authorized(await s.TokenAsync("kim", "operator-pw-1"));
        using var una = s.Authorized(await s.TokenAsync("una", "operator-pw-2"));

        var list = await kim.GetFromJsonAsync<JsonObject>("/api/devices");
        Assert.Equal([mine], list!["items"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()));
        Assert.Equal(1, list["total"]!.GetValue<int>());
        Assert.Equal(4, (await una.GetFromJsonAsync<JsonObject>("/api/devices"))!["total"]!.GetValue<int>());
        Assert.Equal(4, (await admin.GetFromJsonAsync<JsonObject>("/api/devices"))!["total"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await kim.GetAsync($"/api/devices/{mine}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await kim.GetAsync($"/api/devices/{theirs}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await kim.GetAsync($"/api/devices/{theirs}/events")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await kim.PostAsJsonAsync($"/api/devices/{mine}/rpc", new { method = "Shelly.GetDeviceInfo" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await kim.PostAsJsonAsync($"/api/devices/{theirs}/rpc", new { method = "Switch.Set", @params = new { id = 0, on = true } })).StatusCode);
        var many = await (await kim.PostAsJsonAsync("/api/rpc", new { targets = new[] { "*" }, method = "Shelly.GetDeviceInfo" })).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal([mine], many!["results"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));
        Assert.Equal(["kitchen"], (await kim.GetFromJsonAsync<JsonArray>("/api/groups"))!.Select(g => g!["name"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.NotFound, (await kim.PutAsync($"/api/groups/kitchen/devices/{theirs}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await kim.PutAsync($"/api/groups/plant/devices/{mine}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await kim.PostAsJsonAsync("/api/groups", new { name = "mine-now" })).StatusCode);
        Assert.All((await kim.GetFromJsonAsync<JsonArray>("/api/audit"))!, a => Assert.Equal(mine, a!["device"]!.GetValue<string>()));

        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"ws://{s.BaseUri.Authority}/client?access_token={await s.TokenAsync("kim", "operator-pw-1")}"), CancellationToken.None);
        var listed = await Call(ws, 1, """{"id":1,"method":"Device.List"}""");
        Assert.Equal([mine], listed["result"]!["items"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()));
        Assert.Equal(-32602, (await Call(ws, 2, $$$"""{"id":2,"method":"Device.Get","params":{"id":"{{{theirs}}}"}}"""))["error"]!["code"]!.GetValue<int>());
        Assert.NotNull((await Call(ws, 3, $$$"""{"id":3,"method":"Device.Call","params":{"id":"{{{mine}}}","method":"Shelly.GetDeviceInfo"}}"""))["result"]);
        Assert.Equal(-32602, (await Call(ws, 4, $$$"""{"id":4,"method":"Device.Call","params":{"id":"{{{theirs}}}","method":"Shelly.GetDeviceInfo"}}"""))["error"]!["code"]!.GetValue<int>());
        var relayed = await Call(ws, 5, $$"""{"id":5,"dst":"{{theirs}}","method":"Shelly.GetDeviceInfo"}""");
        Assert.NotNull(relayed["error"]);
        Assert.Equal(403, (await Call(ws, 6, """{"id":6,"method":"Group.Create","params":{"name":"x"}}"""))["error"]!["code"]!.GetValue<int>());
        await Call(ws, 7, """{"id":7,"method":"Events.Subscribe","params":{"events":["Shelly.Status"]}}""");
        await admin.PostAsJsonAsync($"/api/devices/{theirs}/rpc", new { method = "Switch.Set", @params = new { id = 0, on = true } });
        await admin.PostAsJsonAsync($"/api/devices/{mine}/rpc", new { method = "Switch.Set", @params = new { id = 0, on = true } });
        var seen = new HashSet<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            while (true)
            {
                var frame = await Receive(ws, cts.Token);
                if (frame["params"]?["shellyID"] is { } who)
                {
                    seen.Add(who.GetValue<string>());
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Three seconds of events (devices report every 300 ms) are enough to see whose come through.
        }
        Assert.Equal([mine], seen);

        // Fleet manager's own methods know no per-user limit: a limited user is refused them, an unlimited one is not.
        await using var fm = await FmClient.ConnectAsync(s, await s.TokenAsync("kim", "operator-pw-1"));
        Assert.NotNull((await fm.CallAsync(1, "Device.List"))["error"]);
        await using var fmUna = await FmClient.ConnectAsync(s, await s.TokenAsync("una", "operator-pw-2"));
        Assert.NotNull((await fmUna.CallAsync(1, "Device.List"))["result"]);
    }

    private static async Task<JsonObject> Call(ClientWebSocket ws, int id, string frame)
    {
        await SessionTests.Send(ws, frame);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var answer = await Receive(ws, cts.Token);
            if (answer["id"] is JsonValue v && v.GetValue<int>() == id)
            {
                return answer;
            }
        }
    }

    private static async Task<JsonObject> Receive(ClientWebSocket ws, CancellationToken ct)
    {
        var buffer = new byte[256 * 1024];
        using var ms = new MemoryStream();
        WebSocketReceiveResult r;
        do
        {
            r = await ws.ReceiveAsync(buffer, ct);
            ms.Write(buffer, 0, r.Count);
        }
        while (!r.EndOfMessage);
        return JsonNode.Parse(ms.ToArray())!.AsObject();
    }
}
