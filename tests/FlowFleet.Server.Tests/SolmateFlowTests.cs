using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests;

/// <summary>
/// <c>flows/solmate-websocket.json</c>: a SolMate-style device protocol served on <c>websocket in</c>, the devices kept in
/// the registry by the <c>device registry</c> node's <c>upsert</c>, browsers pushed every update and answered FILT — a
/// scripted device and a scripted browser client against the real server.
/// </summary>
public sealed class SolmateFlowTests
{
    private static async Task<ClientWebSocket> ConnectAsync(ServerFixture s, string path)
    {
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}{path}"), CancellationToken.None);
        return ws;
    }

    private static Task SendAsync(ClientWebSocket ws, string text) => ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<string> ReceiveAsync(ClientWebSocket ws)
    {
        var buffer = new byte[64 * 1024];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var r = await ws.ReceiveAsync(buffer, cts.Token);
        return Encoding.UTF8.GetString(buffer, 0, r.Count);
    }

    [Fact]
    public async Task A_scripted_device_is_acked_kept_in_the_registry_and_browsers_see_and_filter_it()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        var deploy = await admin.PostAsync("/red/flows", AuthTests.Json(await File.ReadAllTextAsync(Path.Combine(CommsAndHttpTests.RepoRoot(), "flows", "solmate-websocket.json"))));
        deploy.EnsureSuccessStatusCode();

        using var browser = await ConnectAsync(s, "/solmate/ui");
        using var device = await ConnectAsync(s, "/solmate/device");

        // The device announces itself, sends its first values (keys with "_" while initialising), then an update.
        await SendAsync(device, """{"type":"INFO","message":{"serial":"S1001","model":"SolMate EP","version":"2.1.0"}}""");
        Assert.Equal("OK:INFO", await ReceiveAsync(device));
        var pushed = JsonNode.Parse(await ReceiveAsync(browser))!;
        Assert.Equal("UPDT", pushed["type"]!.GetValue<string>());
        Assert.Equal("solmate-S1001", pushed["message"]!["id"]!.GetValue<string>());

        await SendAsync(device, """{"type":"INIT","message":"7:S1001:{\"_pv_power\":120,\"_battery_state\":0.8}"}""");
        Assert.Equal("OK:7", await ReceiveAsync(device));
        await ReceiveAsync(browser);
        await SendAsync(device, """{"type":"UPDT","message":"8:S1001:{\"pv_power\":340}"}""");
        Assert.Equal("OK:8", await ReceiveAsync(device));
        Assert.Equal("UPDT", JsonNode.Parse(await ReceiveAsync(browser))!["type"]!.GetValue<string>());

        // Bad frames get an ERROR ack and change nothing; another serial on this connection is refused.
        await SendAsync(device, """{"type":"UPDT","message":"9:S1001:{not json"}""");
        Assert.Equal("ERROR:9:not JSON", await ReceiveAsync(device));
        await SendAsync(device, """{"type":"UPDT","message":"10:S9999:{\"pv_power\":1}"}""");
        Assert.StartsWith("ERROR:10:serial S9999", await ReceiveAsync(device), StringComparison.Ordinal);
        await SendAsync(device, """{"type":"NOPE"}""");
        Assert.Equal("ERROR::unknown type NOPE", await ReceiveAsync(device));

        // The registry holds it like any device: admitted, its model and firmware, the values without the underscores.
        var d = (await admin.GetFromJsonAsync<JsonObject>("/api/devices/solmate-S1001"))!;
        Assert.Equal("SolMate EP", d["model"]!.GetValue<string>());
        Assert.Equal("2.1.0", d["fw"]!.GetValue<string>());
        Assert.Equal("websocket (flow)", d["transport"]!.GetValue<string>());
        Assert.Equal(340, d["status"]!["solmate"]!["pv_power"]!.GetValue<double>());
        Assert.Equal(0.8, d["status"]!["solmate"]!["battery_state"]!.GetValue<double>());
        Assert.Null(d["status"]!["solmate"]!["_pv_power"]);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await admin.GetAsync("/api/devices/solmate-S9999")).StatusCode);

        // A second device, then the browser's FILT: only SolMates, sorted as asked, answered to that browser.
        using var second = await ConnectAsync(s, "/solmate/device");
        await SendAsync(second, """{"type":"INFO","message":{"serial":"S0002","model":"SolMate EP","version":"2.0.0"}}""");
        Assert.Equal("OK:INFO", await ReceiveAsync(second));
        await ReceiveAsync(browser);
        await SendAsync(browser, """{"type":"FILT","message":{"sort":"-id"}}""");
        var answer = JsonNode.Parse(await ReceiveAsync(browser))!;
        Assert.Equal("FILT", answer["type"]!.GetValue<string>());
        Assert.Equal(["solmate-S1001", "solmate-S0002"], answer["message"]!.AsArray().Select(x => x!["id"]!.GetValue<string>()));
        await SendAsync(browser, """{"type":"FILT","message":{"search":"S0002"}}""");
        Assert.Equal(["solmate-S0002"], JsonNode.Parse(await ReceiveAsync(browser))!["message"]!.AsArray().Select(x => x!["id"]!.GetValue<string>()));
    }
}
