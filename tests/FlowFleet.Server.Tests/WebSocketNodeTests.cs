using System.Net;
using System.Net.WebSockets;
using System.Text;
using FlowFleet.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>
/// Node-RED's websocket nodes through a real server (from <c>22-websocket_spec.js</c>): a websocket-listener path served by
/// FlowFleet's web server, replies by <c>_session</c>, broadcasts, and a websocket-client node connecting to it.
/// </summary>
public sealed class WebSocketNodeTests
{
    private static async Task<string> ReceiveAsync(ClientWebSocket ws)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var r = await ws.ReceiveAsync(buffer, cts.Token);
        return (r.MessageType == WebSocketMessageType.Binary ? "bin:" : "") + Encoding.UTF8.GetString(buffer, 0, r.Count);
    }

    private static async Task<ClientWebSocket> ConnectAsync(ServerFixture s, string path)
    {
        // Listener paths follow http in's Http:NodeAuth; a token works either way.
        var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Authorization", "Bearer " + await s.TokenAsync());
        await ws.ConnectAsync(new Uri($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}{path}"), CancellationToken.None);
        return ws;
    }

    [Fact]
    public async Task Listener_replies_by_session_and_a_client_node_talks_to_it()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        var url = $"ws://{s.BaseUri.Host}:{s.BaseUri.Port}/ws/echo";
        var flows = $$"""
            [{"id":"t","type":"tab"},
             {"id":"echoL","type":"websocket-listener","path":"/ws/echo","wholemsg":"false"},
             {"id":"watchL","type":"websocket-listener","path":"ws/watch","wholemsg":"true"},
             {"id":"cli","type":"websocket-client","path":"{{url}}","wholemsg":"false","headers":[{"keyType":"other","keyValue":"Authorization","valueType":"other","valueValue":"Bearer {{await s.TokenAsync()}}"}]},
             {"id":"in1","type":"websocket in","z":"t","server":"echoL","client":"","x":1,"y":1,"wires":[["up"]]},
             {"id":"up","type":"function","z":"t","func":"msg.payload = typeof msg.payload === 'string' ? msg.payload.toUpperCase() : 'binary ' + JSON.stringify(msg.payload); return msg;","x":1,"y":1,"wires":[["out1"]]},
             {"id":"out1","type":"websocket out","z":"t","server":"echoL","client":"","x":1,"y":1,"wires":[]},
             {"id":"get","type":"http in","z":"t","url":"/send","method":"get","x":1,"y":1,"wires":[["outc","res"]]},
             {"id":"res","type":"http response","z":"t","x":1,"y":1,"wires":[]},
             {"id":"outc","type":"websocket out","z":"t","server":"","client":"cli","x":1,"y":1,"wires":[]},
             {"id":"inc","type":"websocket in","z":"t","server":"","client":"cli","x":1,"y":1,"wires":[["nosession"]]},
             {"id":"nosession","type":"change","z":"t","rules":[{"t":"delete","p":"_session","pt":"msg"}],"x":1,"y":1,"wires":[["outw"]]},
             {"id":"outw","type":"websocket out","z":"t","server":"watchL","client":"","x":1,"y":1,"wires":[]}]
            """;
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(flows))).StatusCode);
        Assert.Empty(s.App.Services.GetRequiredService<FlowEngine>().Warnings);

        using var a = await ConnectAsync(s, "/ws/echo");
        using var b = await ConnectAsync(s, "/ws/echo");
        await a.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("HELLO", await ReceiveAsync(a));
        await b.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal("binary {\"type\":\"Buffer\",\"data\":[1,2,3]}", await ReceiveAsync(b));

        using var watch = await ConnectAsync(s, "/ws/watch");
        // The client node connects in the background: wait for its status before asking it to send.
        var engine = s.App.Services.GetRequiredService<FlowEngine>();
        bool Connected() => engine.Nodes.Single(n => n.Id == "outc").Status.Text == "connected" && engine.Nodes.Single(n => n.Id == "outw").Status.Text == "connected 1";
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (engine.Events.Status.Subscribe(_ =>
        {
            if (Connected())
            {
                connected.TrySetResult();
            }
        }))
        {
            if (Connected())
            {
                connected.TrySetResult();
            }
            await connected.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/send?x=ping")).StatusCode);
        var seen = await ReceiveAsync(watch);
        var json = System.Text.Json.Nodes.JsonNode.Parse(seen)!;
        Assert.Equal("{\"X\":\"PING\"}", json["payload"]!.GetValue<string>());
        // The watch listener sends whole messages: the payload and the rest of the message, without _session.
        Assert.Null(json["_session"]);
        Assert.NotNull(json["_msgid"]);
    }

    [Fact]
    public async Task A_listener_on_a_reserved_or_taken_path_fails_to_start_with_a_reason()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        var flows = """
            [{"id":"t","type":"tab"},
             {"id":"l1","type":"websocket-listener","path":"/red/x","wholemsg":"false"},
             {"id":"l2","type":"websocket-listener","path":"/ws/a","wholemsg":"false"},
             {"id":"l3","type":"websocket-listener","path":"/ws/a/","wholemsg":"false"},
             {"id":"in1","type":"websocket in","z":"t","server":"l1","x":1,"y":1,"wires":[]},
             {"id":"in2","type":"websocket in","z":"t","server":"l2","x":1,"y":1,"wires":[]},
             {"id":"in3","type":"websocket in","z":"t","server":"l3","x":1,"y":1,"wires":[]}]
            """;
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(flows))).StatusCode);
        var warnings = s.App.Services.GetRequiredService<FlowEngine>().Warnings;
        Assert.Contains(warnings, w => w.Contains("l1", StringComparison.Ordinal) && w.Contains("/red", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("l3", StringComparison.Ordinal) && w.Contains("another listener", StringComparison.Ordinal));
        Assert.DoesNotContain(warnings, w => w.Contains("l2", StringComparison.Ordinal));
    }
}
