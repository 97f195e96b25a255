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

    private static async Task<(SimFleet Fleet, string Id)> RealDeviceAsync(FleetHost host, string? token)
    {
        var real = new SimFleet(host.ShellyUrl + (token is null ? "" : "?token=" + token), 1, "plus1pm", FleetHost.FastSim, firstIndex: 7);
        var id = real.Devices.Single().Id;
        await real.StartAsync();
        if (token is null)
        {
            await Poll.UntilAsync(() => host.Devices.Get(id) is not null && host.Hub.Session(id) is not null, "real device pending");
            await host.Hub.AcceptAsync(id);
        }
        await Poll.UntilAsync(() => host.Hub.IsOnline(id) && host.Devices.Get(id)?.Model is not null, "real device admitted");
        return (real, id);
    }

    [Fact]
    public async Task A_connection_without_the_bound_token_waits_in_the_waiting_room_and_the_real_device_keeps_its_session()
    {
        await using var host = await FleetHost.StartAsync(o => o.Admission = "manual");
        var token = await host.Tokens.CreateTokenAsync("site");
        var other = await host.Tokens.CreateTokenAsync("other site");
        var (real, id) = await RealDeviceAsync(host, token.Token);
        await using var _ = real;
        var session = host.Hub.Session(id);
        var model = host.Devices.Get(id)!.Model;
        Assert.NotNull(host.Devices.Get(id)!.TokenHash);

        // No token, and another site's valid token: both wait as claims (connected, asked who they are); the real device
        // keeps its connection and its record.
        await using var anonymous = await RawClaimant.ConnectAsync(host.ShellyUrl, id, null);
        await using var wrongToken = await RawClaimant.ConnectAsync(host.ShellyUrl, id, other.Token);
        await Poll.UntilAsync(() => host.Hub.Claims.Count(c => c.Id == id && c.Model == "IMPOSTOR") == 2, "both claims waiting, identified");
        Assert.Equal(WebSocketState.Open, anonymous.State);
        Assert.Equal(WebSocketState.Open, wrongToken.State);
        Assert.Contains(host.Hub.Claims, c => c.Id == id && c.WithToken);
        Assert.Contains(host.Hub.Claims, c => c.Id == id && !c.WithToken);
        // The waiting room's count (the Devices page button) includes both claims, but not for a user limited to groups.
        Assert.Equal(2, host.Hub.Waiting(DeviceAccess.Everything));
        Assert.Equal(0, host.Hub.Waiting(DeviceAccess.Only(["site"])));
        Assert.Same(session, host.Hub.Session(id));
        Assert.False(session!.IsClosed);
        Assert.Equal(model, host.Devices.Get(id)!.Model);
        Assert.NotEqual("IMPOSTOR", host.Devices.Get(id)!.Name);
        Assert.Equal(2, host.Hub.Impostors);
        Assert.NotNull(await host.Hub.CallAsync(id, "Shelly.GetDeviceInfo"));

        // Denied: told to stop connecting and closed (1008); the same address claiming that id again is turned away at once.
        var denied = host.Hub.Claims.Single(c => !c.WithToken);
        Assert.True(await host.Hub.DenyClaimAsync(denied.Key));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await anonymous.Closed.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(anonymous.WasCalled("Ws.SetConfig"));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await ClaimAsync(host, id, null));
        Assert.False(await host.Hub.DenyClaimAsync(denied.Key));
        Assert.Same(session, host.Hub.Session(id));

        // The same token proves it: that connection is the device (a reconnect), not a claim.
        var before = host.Hub.Impostors;
        Assert.NotEqual(WebSocketCloseStatus.PolicyViolation, await ClaimAsync(host, id, token.Token));
        Assert.Equal(before, host.Hub.Impostors);
    }

    [Fact]
    public async Task An_accepted_claim_becomes_the_device_and_its_token_is_the_proof_from_then_on()
    {
        await using var host = await FleetHost.StartAsync(o => o.Admission = "manual");
        var token = await host.Tokens.CreateTokenAsync("site");
        var other = await host.Tokens.CreateTokenAsync("replacement");
        var (real, id) = await RealDeviceAsync(host, token.Token);
        await using var _ = real;
        var session = host.Hub.Session(id)!;

        await using var replacement = await RawClaimant.ConnectAsync(host.ShellyUrl, id, other.Token, model: "REPLACEMENT");
        await Poll.UntilAsync(() => host.Hub.Claims.Any(c => c.Id == id && c.Model == "REPLACEMENT"), "claim waiting");
        Assert.True(await host.Hub.AcceptClaimAsync(host.Hub.Claims.Single().Key));

        // The operator's choice replaces the device's connection; the claimant's identity is read as the device's.
        await Poll.UntilAsync(() => host.Devices.Get(id)?.Model == "REPLACEMENT", "identity read from the accepted claim");
        Assert.True(session.IsClosed);
        Assert.NotSame(session, host.Hub.Session(id));
        Assert.True(host.Hub.IsOnline(id));
        Assert.Equal(WebSocketState.Open, replacement.State);
        Assert.Equal(EnrollmentTokenStore.HashToken(other.Token), host.Devices.Get(id)!.TokenHash);
        Assert.DoesNotContain(host.Hub.Claims, c => c.Model == "REPLACEMENT");

        // The old device, coming back with the old token, is now the one that waits.
        await Poll.UntilAsync(() => host.Hub.Claims.Any(c => c.Id == id && c.Model != "REPLACEMENT"), "the old device's reconnect waits as a claim");
        Assert.Equal("REPLACEMENT", host.Devices.Get(id)!.Model);
        Assert.Equal(WebSocketState.Open, replacement.State);
    }

    [Fact]
    public async Task A_device_accepted_without_a_token_that_is_offline_can_not_be_taken_from_another_address()
    {
        await using var host = await FleetHost.StartAsync(o => o.Admission = "manual");
        var (real, id) = await RealDeviceAsync(host, token: null);
        var model = host.Devices.Get(id)!.Model;
        Assert.Equal("127.0.0.1", host.Devices.Get(id)!.BoundAddress);
        await real.DisposeAsync();
        await Poll.UntilAsync(() => !host.Hub.IsOnline(id), "real device offline");

        // Another address with its id: a claim in the waiting room, not the device.
        await using var stranger = await RawClaimant.ConnectAsync(host.ShellyUrl, id, null, localAddress: "127.0.0.2");
        await Poll.UntilAsync(() => host.Hub.Claims.Any(c => c.Id == id && c.Remote == "127.0.0.2" && c.Model == "IMPOSTOR"), "claim from another address");
        Assert.False(host.Hub.IsOnline(id));
        Assert.Equal(model, host.Devices.Get(id)!.Model);
        Assert.Equal(WebSocketState.Open, stranger.State);

        // From the address it was accepted at, it is the device again.
        await using var back = await RawClaimant.ConnectAsync(host.ShellyUrl, id, null, model: model!);
        await Poll.UntilAsync(() => host.Hub.IsOnline(id), "reconnect from its own address");
        Assert.Equal(WebSocketState.Open, stranger.State);
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
            $"{string.Join(",", results)}; refused {host.Hub.ConnectionsRefused}; pending {host.Devices.All.Count()}; opts {host.Hub.Options.MaxNewDevicesPerMinutePerAddress} {host.Hub.Options.Admission}");
        Assert.Equal(3, host.Devices.All.Count(d => d.Admission == AdmissionStates.Pending));

        await using var small = await FleetHost.StartAsync(o => (o.Admission, o.MaxPendingDevices) = ("manual", 2));
        var full = new List<WebSocketCloseStatus?>();
        for (var i = 0; i < 4; i++)
        {
            full.Add(await ClaimAsync(small, $"shellyplus1-room{i:D6}", null));
        }
        Assert.Equal([null, null, WebSocketCloseStatus.PolicyViolation, WebSocketCloseStatus.PolicyViolation], full);
        Assert.Equal(2, small.Devices.All.Count());
    }
}
