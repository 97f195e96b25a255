using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using FlowFleet.Server.Red;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>Issue 13 item 5 on the real server: idle, slow and anonymous sockets can't lock the operator out of the API,
/// <c>/healthz</c> or websockets.</summary>
public sealed class IdleSocketDrillTests
{
    [Fact]
    public async Task Slowloris_and_silent_connections_leave_healthz_and_the_api_answering()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:HeadTimeout", "00:00:03", "--Fleet:FirstFrameTimeout", "00:00:01"]);
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 260; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, s.BaseUri.Port);
                if (i % 2 == 0)
                {
                    // Half of them start a request and never finish its head.
                    await socket.SendAsync(Encoding.ASCII.GetBytes("GET /api/devices HTTP/1.1\r\nHost: x\r\nX-slow: "), SocketFlags.None);
                }
                held.Add(socket);
            }
            using var http = new HttpClient { BaseAddress = s.BaseUri, Timeout = TimeSpan.FromSeconds(5) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
            using var admin = await s.AdminAsync();
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(new Uri("/api/devices", UriKind.Relative))).StatusCode);
        }
        finally
        {
            held.ForEach(x => x.Dispose());
        }
    }

    [Fact]
    public async Task Anonymous_comms_sockets_can_not_crowd_out_the_admins_websockets()
    {
        await using var s = await ServerFixture.StartAsync();
        var comms = new Uri($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}/red/comms");
        var anonymous = new List<ClientWebSocket>();
        try
        {
            for (var i = 0; i < 100; i++)
            {
                var ws = new ClientWebSocket();
                await ws.ConnectAsync(comms, CancellationToken.None);
                anonymous.Add(ws);
            }
            var hub = s.App.Services.GetRequiredService<CommsHub>();
            await Poll.UntilAsync(() => Task.FromResult(hub.ConnectionCount <= CommsHub.MaxAnonymous), "anonymous comms sockets capped");

            var token = await s.TokenAsync();
            using var admin = new ClientWebSocket();
            await admin.ConnectAsync(comms, CancellationToken.None);
            await admin.SendAsync(Encoding.UTF8.GetBytes($$"""{"auth":"{{token}}"}"""), WebSocketMessageType.Text, true, CancellationToken.None);
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var r = await admin.ReceiveAsync(buffer, timeout.Token);
            Assert.Contains("\"ok\"", Encoding.UTF8.GetString(buffer, 0, r.Count), StringComparison.Ordinal);
        }
        finally
        {
            anonymous.ForEach(w => w.Dispose());
        }
    }

    [Fact]
    public async Task An_anonymous_comms_socket_that_never_authenticates_is_closed_after_the_deadline()
    {
        await using var s = await ServerFixture.StartAsync();
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}/red/comms"), CancellationToken.None);
        var buffer = new byte[256];
        using var timeout = new CancellationTokenSource(CommsHub.AuthTimeout + TimeSpan.FromSeconds(10));
        var closed = false;
        try
        {
            while (!closed)
            {
                closed = (await ws.ReceiveAsync(buffer, timeout.Token)).MessageType == WebSocketMessageType.Close;
            }
        }
        catch (WebSocketException)
        {
            closed = true;
        }
        Assert.True(closed);
    }

    [Fact]
    public async Task Client_websockets_authenticate_at_the_upgrade_so_no_anonymous_one_is_ever_held()
    {
        // /client and FM's / have no authentication message (unlike /red/comms): the token or cookie comes with the upgrade,
        // so an unauthenticated socket is never opened and there is nothing for a deadline or a cap to close.
        await using var s = await ServerFixture.StartAsync();
        var clients = s.App.Services.GetRequiredService<FlowFleet.Server.Fleet.ClientHub>();
        var refused = 0;
        foreach (var (path, protocol) in new[] { ("/client", null), ("/", null), ("/client?access_token=bogus", null), ("/", "bogus-token") })
        {
            for (var i = 0; i < 25; i++)
            {
                using var ws = new ClientWebSocket();
                if (protocol is not null)
                {
                    ws.Options.AddSubProtocol(protocol);
                }
                try
                {
                    await ws.ConnectAsync(new Uri($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}{path}"), CancellationToken.None);
                }
                catch (WebSocketException)
                {
                    refused++;
                }
            }
        }
        Assert.Equal(100, refused);
        Assert.Equal(0, clients.ConnectionCount);

        var token = await s.TokenAsync();
        using var admin = new ClientWebSocket();
        admin.Options.SetRequestHeader("Authorization", "Bearer " + token);
        await admin.ConnectAsync(new Uri($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}/client"), CancellationToken.None);
        await admin.SendAsync(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"Device.List"}"""), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var r = await admin.ReceiveAsync(buffer, timeout.Token);
        Assert.Contains("\"result\"", Encoding.UTF8.GetString(buffer, 0, r.Count), StringComparison.Ordinal);
        Assert.Equal(1, clients.ConnectionCount);
    }
}
