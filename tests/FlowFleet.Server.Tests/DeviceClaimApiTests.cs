using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>Issue 13 item 8 through REST: a connection claiming an accepted device's id waits in the waiting room's list.</summary>
public sealed class DeviceClaimApiTests
{
    /// <summary>Connects with <paramref name="id"/> and no token; answers every RPC with an empty result until closed.</summary>
    private static async Task<(ClientWebSocket Socket, Task<WebSocketCloseStatus?> Closed)> ClaimAsync(ServerFixture s, string id)
    {
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(s.ShellyUrl), CancellationToken.None);
        var first = new JsonObject { ["src"] = id, ["method"] = "NotifyFullStatus", ["params"] = new JsonObject { ["sys"] = new JsonObject() } };
        await ws.SendAsync(Encoding.UTF8.GetBytes(first.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        return (ws, AnswerAsync(ws, id));
    }

    private static async Task<WebSocketCloseStatus?> AnswerAsync(ClientWebSocket ws, string id)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var r = await ws.ReceiveAsync(buffer, CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return ws.CloseStatus;
                }
                if (JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, r.Count)) is JsonObject { } request && request["id"] is { } rid)
                {
                    var reply = new JsonObject { ["id"] = rid.DeepClone(), ["src"] = id, ["result"] = new JsonObject() };
                    await ws.SendAsync(Encoding.UTF8.GetBytes(reply.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            return ws.CloseStatus;
        }
    }

    [Fact]
    public async Task A_claim_is_listed_with_the_pending_devices_and_an_operator_can_deny_or_accept_it()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        var hub = s.App.Services.GetRequiredService<DeviceHub>();
        using var created = await admin.PostAsJsonAsync("/api/enrollment-tokens", new { name = "site" });
        var url = (await created.Content.ReadFromJsonAsync<JsonObject>())!["url"]!.GetValue<string>();
        await using var real = new SimFleet(url, 1, "plus1pm", FleetApiTests.FastSim);
        var id = real.Devices.Single().Id;
        await real.StartAsync();
        await FleetApiTests.WaitOnline(s, 1);
        var session = hub.Session(id)!;

        var (first, firstClosed) = await ClaimAsync(s, id);
        using var firstSocket = first;
        JsonObject pending = [];
        await Poll.UntilAsync(async () => (pending = (await admin.GetFromJsonAsync<JsonObject>("/api/devices/pending"))!)["claims"]!.AsArray().Count == 1, "claim listed");
        var claim = pending["claims"]![0]!;
        Assert.Equal(id, claim["id"]!.GetValue<string>());
        Assert.Equal("claims the id of an existing device", claim["note"]!.GetValue<string>());
        Assert.Equal(0, pending["total"]!.GetValue<int>());
        Assert.False(session.IsClosed);

        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/api/devices/claims/nosuchclaim/deny", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"/api/devices/claims/{claim["key"]}/deny", null)).StatusCode);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await firstClosed.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Empty((await admin.GetFromJsonAsync<JsonObject>("/api/devices/pending"))!["claims"]!.AsArray());
        Assert.Same(session, hub.Session(id));

        // A claim from an address that was not denied is listed again; accepting it replaces the device's connection.
        await using var fromElsewhere = await ConnectFromAsync(s, "127.0.0.2", id);
        await Poll.UntilAsync(async () => (pending = (await admin.GetFromJsonAsync<JsonObject>("/api/devices/pending"))!)["claims"]!.AsArray().Count == 1, "second claim listed");
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"/api/devices/claims/{pending["claims"]![0]!["key"]}/accept", null)).StatusCode);
        Assert.True(session.IsClosed);
        Assert.Equal("127.0.0.2", hub.Session(id)!.RemoteAddress);
    }

    private static async Task<AsyncSocket> ConnectFromAsync(ServerFixture s, string local, string id)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Parse(local), 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        var invoker = new HttpMessageInvoker(handler);
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(s.ShellyUrl), invoker, CancellationToken.None);
        var first = new JsonObject { ["src"] = id, ["method"] = "NotifyFullStatus", ["params"] = new JsonObject { ["sys"] = new JsonObject() } };
        await ws.SendAsync(Encoding.UTF8.GetBytes(first.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        return new AsyncSocket(ws, invoker, AnswerAsync(ws, id));
    }

    private sealed record AsyncSocket(ClientWebSocket Socket, HttpMessageInvoker Invoker, Task Loop) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Socket.Abort();
            await Loop.ConfigureAwait(false);
            Socket.Dispose();
            Invoker.Dispose();
        }
    }
}
