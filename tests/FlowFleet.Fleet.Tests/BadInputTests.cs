using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.Fleet.Tests;

/// <summary>Malformed, huge, flooding, silent and duplicate devices: clear close codes, no hang, nothing lost.</summary>
public sealed class BadInputTests
{
    private static async Task<ClientWebSocket> ConnectAsync(FleetHost host)
    {
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(host.ShellyUrl), CancellationToken.None);
        return ws;
    }

    private static Task SendAsync(ClientWebSocket ws, string text) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<WebSocketCloseStatus?> ClosedWithAsync(ClientWebSocket ws)
    {
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (true)
            {
                var r = await ws.ReceiveAsync(buffer, timeout.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return ws.CloseStatus;
                }
            }
        }
        catch (WebSocketException)
        {
            return ws.CloseStatus;
        }
    }

    private static string Full(string id) => RawDevice.FullStatus(id);

    /// <summary>A connected, working device proves the hub kept running and its registry entry survived.</summary>
    private static async Task<SimFleet> HealthyDeviceAsync(FleetHost host)
    {
        var fleet = new SimFleet(host.ShellyUrl, 1, "plus1pm", FleetHost.FastSim, firstIndex: 900);
        await fleet.StartAsync();
        // Online comes before the identity reads finish: wait for both, or a loaded machine fails StillHealthy's model check.
        await Poll.UntilAsync(() => host.Hub.IsOnline(fleet.Devices.Single().Id) && host.Devices.Get(fleet.Devices.Single().Id)?.Model is not null, "healthy device online");
        return fleet;
    }

    private static async Task StillHealthy(FleetHost host, SimFleet healthy)
    {
        var id = healthy.Devices.Single().Id;
        Assert.NotNull(await host.Hub.CallAsync(id, "Shelly.GetDeviceInfo"));
        Assert.Equal("SNSW-001P16EU", host.Devices.Get(id)!.Model);
    }

    [Fact]
    public async Task Unparseable_first_frame_closes_with_1007()
    {
        await using var host = await FleetHost.StartAsync();
        await using var healthy = await HealthyDeviceAsync(host);
        using var ws = await ConnectAsync(host);
        await SendAsync(ws, "{not json");
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, await ClosedWithAsync(ws));
        await StillHealthy(host, healthy);
    }

    [Theory]
    [InlineData("""{"method":"NotifyFullStatus","params":{}}""")]
    [InlineData("""{"id":1,"src":"shellyplus1-aabbccddeeff","method":"Switch.Set","params":{"id":0,"on":true}}""")]
    [InlineData("""[1,2,3]""")]
    public async Task Wrong_first_frame_closes_with_1008(string first)
    {
        await using var host = await FleetHost.StartAsync();
        using var ws = await ConnectAsync(host);
        await SendAsync(ws, first);
        var status = await ClosedWithAsync(ws);
        Assert.True(status is WebSocketCloseStatus.PolicyViolation or WebSocketCloseStatus.InvalidPayloadData, status?.ToString());
        Assert.Equal(0, host.Devices.Count);
    }

    [Fact]
    public async Task Oversized_frame_closes_with_1009_and_the_device_stays_registered()
    {
        await using var host = await FleetHost.StartAsync(o => o.MaxFrameBytes = 16 * 1024);
        using var ws = await ConnectAsync(host);
        await SendAsync(ws, Full("shellyplus1pm-0000000000aa"));
        await Poll.UntilAsync(() => host.Hub.IsOnline("shellyplus1pm-0000000000aa") || host.Devices.Get("shellyplus1pm-0000000000aa") is not null, "device seen");
        await SendAsync(ws, """{"src":"shellyplus1pm-0000000000aa","method":"NotifyEvent","params":{"pad":""" + "\"" + new string('x', 40_000) + "\"}}");
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await ClosedWithAsync(ws));
        await Poll.UntilAsync(() => !host.Hub.IsOnline("shellyplus1pm-0000000000aa"), "offline");
        Assert.NotNull(host.Devices.Get("shellyplus1pm-0000000000aa"));
    }

    [Fact]
    public async Task Malformed_frame_after_identification_closes_but_keeps_status()
    {
        await using var host = await FleetHost.StartAsync();
        using var ws = await ConnectAsync(host);
        await SendAsync(ws, Full("shellyplus1pm-0000000000bb"));
        await Poll.UntilAsync(() => host.Devices.Get("shellyplus1pm-0000000000bb") is not null, "device seen");
        await SendAsync(ws, "\u0001garbage");
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, await ClosedWithAsync(ws));
        Assert.NotNull(host.Devices.Get("shellyplus1pm-0000000000bb")!.Status["switch:0"]);
    }

    [Fact]
    public async Task Flooding_device_is_cut_off_at_the_rate_limit()
    {
        await using var host = await FleetHost.StartAsync(o => o.RateLimitPerMinute = 50);
        await using var healthy = await HealthyDeviceAsync(host);
        using var ws = await ConnectAsync(host);
        await SendAsync(ws, Full("shellyplus1pm-0000000000cc"));
        var closed = ClosedWithAsync(ws);
        for (var i = 0; i < 200 && ws.State == WebSocketState.Open; i++)
        {
            try
            {
                await SendAsync(ws, """{"src":"shellyplus1pm-0000000000cc","method":"NotifyStatus","params":{"ts":2,"switch:0":{"apower":1}}}""");
            }
            catch (WebSocketException)
            {
                break;
            }
        }
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await closed);
        Assert.True(host.Hub.FramesRejected >= 1);
        await StillHealthy(host, healthy);
    }

    [Fact]
    public async Task Rpc_to_an_offline_device_fails_at_once()
    {
        await using var host = await FleetHost.StartAsync();
        var started = DateTime.UtcNow;
        var ex = await Assert.ThrowsAsync<ShellyRpcException>(() => host.Hub.CallAsync("shellyplus1pm-000000000000", "Switch.Toggle", new JsonObject { ["id"] = 0 }));
        Assert.Equal(ShellyRpcException.Unavailable, ex.Code);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Device_that_never_answers_times_out()
    {
        await using var host = await FleetHost.StartAsync(o => o.RpcTimeout = TimeSpan.FromMilliseconds(500));
        using var ws = await ConnectAsync(host);
        await SendAsync(ws, Full("shellyplus1pm-0000000000dd"));
        await Poll.UntilAsync(() => host.Hub.IsOnline("shellyplus1pm-0000000000dd"), "silent device online");
        var ex = await Assert.ThrowsAsync<ShellyRpcException>(() => host.Hub.CallAsync("shellyplus1pm-0000000000dd", "Switch.Toggle", new JsonObject { ["id"] = 0 }));
        Assert.Equal(ShellyRpcException.DeadlineExceeded, ex.Code);
        Assert.Contains("did not answer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Second_connection_with_the_same_id_replaces_the_first()
    {
        await using var host = await FleetHost.StartAsync();
        using var first = await ConnectAsync(host);
        await SendAsync(first, Full("shellyplus1pm-0000000000ee"));
        await Poll.UntilAsync(() => host.Hub.IsOnline("shellyplus1pm-0000000000ee"), "first online");
        var firstSession = host.Hub.Session("shellyplus1pm-0000000000ee");
        Assert.NotNull(firstSession);
        var firstClosed = ClosedWithAsync(first);
        using var second = await ConnectAsync(host);
        await SendAsync(second, Full("shellyplus1pm-0000000000ee"));
        Assert.Equal(DeviceHub.ClosedReplaced, await firstClosed);
        await Poll.UntilAsync(() => host.Hub.Session("shellyplus1pm-0000000000ee") is { } s && !ReferenceEquals(s, firstSession) && host.Hub.IsOnline("shellyplus1pm-0000000000ee"), "second online");
        Assert.Equal(1, host.Devices.Count);
        Assert.Equal(1, host.Hub.ConnectionCount);
    }
}
