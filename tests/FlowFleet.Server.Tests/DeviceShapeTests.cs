using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests;

/// <summary>Issue 13 item 4: one wrongly typed status field must not turn the device list, the device page or
/// <c>/client Device.List</c> into errors.</summary>
public sealed class DeviceShapeTests
{
    [Fact]
    public async Task A_device_with_wrongly_typed_status_is_listed_by_the_api_the_client_socket_and_the_devices_page()
    {
        await using var s = await ServerFixture.StartAsync(noAuth: true, extraArgs: ["--Fleet:Admission", "auto"]);
        using var device = new ClientWebSocket();
        await device.ConnectAsync(new Uri(s.ShellyUrl), CancellationToken.None);
        const string id = "shellyplus1pm-badtypes0001";
        var frame = """
            {"src":"ID","method":"NotifyFullStatus","params":{"ts":1,"switch:0":{"id":0,"output":"yes","apower":"abc","aenergy":[1,2]},
             "wifi":[1],"cover:0":{"current_pos":"x","state":7},"temperature:0":{"tC":{"a":1}},"light:0":{"output":1,"brightness":[]},
             "em:0":{"total_act_power":1e400},"switch:1":{"output":true,"apower":2.5}}}
            """.Replace("ID", id, StringComparison.Ordinal);
        await device.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, CancellationToken.None);
        await FleetApiTests.WaitOnline(s, 1);

        var list = await s.Client.GetAsync("/api/devices");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var item = (await list.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Single()!;
        Assert.Equal(2.5, item["readings"]!["power"]!.GetValue<double>());
        Assert.Equal(HttpStatusCode.OK, (await s.Client.GetAsync($"/api/devices/{id}")).StatusCode);

        var page = await s.Client.GetAsync("/devices");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);

        using var client = new ClientWebSocket();
        await client.ConnectAsync(new Uri($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}/client"), CancellationToken.None);
        await client.SendAsync("""{"jsonrpc":"2.0","id":1,"method":"Device.List","params":{}}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[1 << 16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        JsonObject answer;
        do
        {
            var r = await client.ReceiveAsync(buffer, timeout.Token);
            answer = JsonNode.Parse(buffer.AsSpan(0, r.Count))!.AsObject();
        }
        while (answer["id"]?.ToJsonString() != "1");
        Assert.Null(answer["error"]);
        Assert.Equal(1, answer["result"]!["total"]!.GetValue<int>());
    }
}
