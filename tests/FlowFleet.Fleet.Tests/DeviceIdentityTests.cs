using System.Net.WebSockets;
using System.Text;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Tests;

/// <summary>Issue 13 item 8: an id is not proof of identity; anonymous new ids are bounded.</summary>
public sealed class DeviceIdentityTests
{
    private static async Task<WebSocketCloseStatus?> ClaimAsync(FleetHost host, string id, string? token, string model = "IMPOSTOR")
    {
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(host.ShellyUrl + (token is null ? "" : "?token=" + token)), CancellationToken.None);
        var frame = """{"src":"ID","method":"NotifyFullStatus","params":{"sys":{"name":"MODEL"},"switch:0":{"output":true}}}""".Replace("ID", id, StringComparison.Ordinal).Replace("MODEL", model, StringComparison.Ordinal);
        await ws.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
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
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (WebSocketException)
        {
            return ws.CloseStatus;
        }
    }

    [Fact]
    public async Task A_connection_without_the_bound_token_can_not_take_over_an_accepted_device()
    {
        await using var host = await FleetHost.StartAsync(o => o.Admission = "manual");
        var token = await host.Registry.CreateTokenAsync("site");
        var other = await host.Registry.CreateTokenAsync("other site");
        await using var real = new SimFleet(host.ShellyUrl + "?token=" + token.Token, 1, "plus1pm", FleetHost.FastSim, firstIndex: 7);
        var sim = real.Devices.Single();
        await real.StartAsync();
        await FleetHost.WaitUntil(() => host.Hub.IsOnline(sim.Id) && host.Registry.Get(sim.Id)?.Model is not null, "real device admitted");
        var session = host.Hub.Session(sim.Id);
        var model = host.Registry.Get(sim.Id)!.Model;
        Assert.NotNull(host.Registry.Get(sim.Id)!.TokenHash);

        // No token, and another site's valid token: both refused, the real device keeps its connection and its record.
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await ClaimAsync(host, sim.Id, null));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await ClaimAsync(host, sim.Id, other.Token));
        Assert.Same(session, host.Hub.Session(sim.Id));
        Assert.False(session!.IsClosed);
        Assert.Equal(model, host.Registry.Get(sim.Id)!.Model);
        Assert.Contains(host.Hub.Claims, c => c.Id == sim.Id);
        Assert.Equal(2, host.Hub.Impostors);
        Assert.NotNull(await host.Hub.CallAsync(sim.Id, "Shelly.GetDeviceInfo"));

        // The same token proves it: that connection is the device (a reconnect), not an impostor.
        Assert.NotEqual(WebSocketCloseStatus.PolicyViolation, await ClaimAsync(host, sim.Id, token.Token));
        Assert.Equal(2, host.Hub.Impostors);
    }

    [Fact]
    public async Task New_ids_from_one_address_are_rate_limited_and_the_waiting_room_is_bounded()
    {
        await using var host = await FleetHost.StartAsync(o => (o.Admission, o.MaxNewDevicesPerMinutePerAddress, o.MaxPendingDevices) = ("manual", 3, 1000));
        var results = new List<WebSocketCloseStatus?>();
        for (var i = 0; i < 5; i++)
        {
            results.Add(await ClaimAsync(host, $"shellyplus1-newid{i:D6}", null));
        }
        Assert.True(results.SequenceEqual([null, null, null, WebSocketCloseStatus.PolicyViolation, WebSocketCloseStatus.PolicyViolation]),
            $"{string.Join(",", results)}; refused {host.Hub.ConnectionsRefused}; pending {host.Registry.All.Count()}; opts {host.Hub.Options.MaxNewDevicesPerMinutePerAddress} {host.Hub.Options.Admission}");
        Assert.Equal(3, host.Registry.All.Count(d => d.Admission == AdmissionStates.Pending));

        await using var small = await FleetHost.StartAsync(o => (o.Admission, o.MaxPendingDevices) = ("manual", 2));
        var full = new List<WebSocketCloseStatus?>();
        for (var i = 0; i < 4; i++)
        {
            full.Add(await ClaimAsync(small, $"shellyplus1-room{i:D6}", null));
        }
        Assert.Equal([null, null, WebSocketCloseStatus.PolicyViolation, WebSocketCloseStatus.PolicyViolation], full);
        Assert.Equal(2, small.Registry.All.Count());
    }
}
