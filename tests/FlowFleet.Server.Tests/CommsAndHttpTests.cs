using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

public sealed class CommsAndHttpTests
{
    [Fact]
    public async Task Comms_delivers_debug_and_status_after_auth_and_subscribe()
    {
        await using var s = await ServerFixture.StartAsync();
        var token = await s.TokenAsync();
        using var admin = s.Authorized(token);
        await admin.PostAsync("/red/flows", AuthTests.Json("""
            [{"id":"t1","type":"tab"},
             {"id":"inj","type":"inject","z":"t1","props":[{"p":"payload","v":"7","vt":"num"},{"p":"topic","v":"tt","vt":"str"}],"x":1,"y":1,"wires":[["fn"]]},
             {"id":"fn","type":"function","z":"t1","func":"node.status({fill:'green',shape:'dot',text:'got ' + msg.payload}); msg.payload = {v: msg.payload * 6}; return msg;","x":1,"y":1,"wires":[["dbg"]]},
             {"id":"dbg","type":"debug","z":"t1","name":"out","complete":"payload","tosidebar":true,"x":1,"y":1,"wires":[]}]
            """));
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(s.BaseUri.ToString().Replace("http", "ws", StringComparison.Ordinal) + "red/comms"), CancellationToken.None);
        await Send(ws, new JsonObject { ["auth"] = token });
        Assert.Equal("ok", (await Receive(ws))["auth"]!.GetValue<string>());
        // A retained status is replayed to each new status/# subscriber: once it arrives, both subscriptions (handled in the
        // order sent) are in place, and the inject cannot overtake them.
        s.App.Services.GetRequiredService<FlowFleet.Server.Red.CommsHub>().Publish("status/probe", new JsonObject { ["text"] = "probe" }, retain: true);
        await Send(ws, new JsonObject { ["subscribe"] = "debug" });
        await Send(ws, new JsonObject { ["subscribe"] = "status/#" });
        using (var subscribed = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (!(await Receive(ws, subscribed.Token)).AsArray().OfType<JsonObject>().Any(i => i["topic"]!.GetValue<string>() == "status/probe"))
            {
            }
        }
        await admin.PostAsync("/red/inject/inj", null);

        JsonObject? debug = null;
        JsonObject? status = null;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (debug is null || status is null)
        {
            foreach (var item in (await Receive(ws, cts.Token)).AsArray().OfType<JsonObject>())
            {
                var topic = item["topic"]!.GetValue<string>();
                if (topic == "debug")
                {
                    debug = item["data"]!.AsObject();
                }
                else if (topic == "status/fn")
                {
                    status = item["data"]!.AsObject();
                }
            }
        }
        Assert.Equal("dbg", debug["id"]!.GetValue<string>());
        Assert.Equal("Object", debug["format"]!.GetValue<string>());
        Assert.Equal("""{"v":42}""", debug["msg"]!.GetValue<string>());
        Assert.Equal("tt", debug["topic"]!.GetValue<string>());
        Assert.Equal("got 7", status["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Comms_refuses_a_bad_token()
    {
        await using var s = await ServerFixture.StartAsync();
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(s.BaseUri.ToString().Replace("http", "ws", StringComparison.Ordinal) + "red/comms"), CancellationToken.None);
        await Send(ws, new JsonObject { ["auth"] = "forged" });
        Assert.Equal("fail", (await Receive(ws))["auth"]!.GetValue<string>());
    }

    [Fact]
    public async Task Http_in_and_response_answer_requests_with_params_query_and_json_bodies()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        var deploy = await admin.PostAsync("/red/flows", AuthTests.Json("""
            [{"id":"t1","type":"tab"},
             {"id":"get","type":"http in","z":"t1","url":"/device/:id","method":"get","x":1,"y":1,"wires":[["fn"]]},
             {"id":"post","type":"http in","z":"t1","url":"/echo","method":"post","x":1,"y":1,"wires":[["fn"]]},
             {"id":"fn","type":"function","z":"t1","func":"msg.payload = {id: msg.req.params.id, q: msg.req.query.x, body: msg.payload, method: msg.req.method}; msg.statusCode = 201; msg.headers = {'X-Test': 'yes'}; msg.cookies = {seen: 'true'}; return msg;","x":1,"y":1,"wires":[["res"]]},
             {"id":"res","type":"http response","z":"t1","x":1,"y":1,"wires":[]}]
            """));
        Assert.Equal(HttpStatusCode.NoContent, deploy.StatusCode);
        var got = await admin.GetAsync("/device/abc?x=1");
        Assert.Equal(HttpStatusCode.Created, got.StatusCode);
        Assert.Equal("yes", got.Headers.GetValues("X-Test").Single());
        Assert.Contains(got.Headers.GetValues("Set-Cookie"), c => c.StartsWith("seen=true", StringComparison.Ordinal));
        var json = await got.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("abc", json!["id"]!.GetValue<string>());
        Assert.Equal("1", json["q"]!.GetValue<string>());
        var posted = await (await admin.PostAsync("/echo", AuthTests.Json("""{"n":5}"""))).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(5, (int)posted!["body"]!["n"]!.GetValue<double>());
        Assert.Equal("POST", posted["method"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/nothing-here")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await admin.DeleteAsync("/echo")).StatusCode);
    }

    [Fact]
    public async Task The_shared_throughput_flow_deploys_unchanged_and_runs_to_completion()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        var flowFile = Path.Combine(RepoRoot(), "..", "shared", "bench", "throughput-flow.json");
        var flows = File.Exists(flowFile) ? await File.ReadAllTextAsync(flowFile) : await File.ReadAllTextAsync(Path.Combine(RepoRoot(), "bench", "server", "throughput-flow.json"));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(flows))).StatusCode);
        var started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 5;
        var inject = await admin.PostAsync("/red/inject/start", AuthTests.Json("""{"__user_inject_props__":[{"p":"payload","v":"3000","vt":"num"}]}"""));
        Assert.Equal(HttpStatusCode.OK, inject.StatusCode);
        JsonObject? result = null;
        await FlowFleet.Tests.Poll.UntilAsync(async () =>
        {
            result = await admin.GetFromJsonAsync<JsonObject>("/bench/result");
            return result!["end"]!.GetValue<double>() >= started && result["count"]!.GetValue<double>() == 3000;
        }, "the throughput flow's result for this run", 60_000);
        Assert.Equal(3000, result!["count"]!.GetValue<double>());
        Assert.Equal(3000, result["n"]!.GetValue<double>());
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FlowFleet.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException("FlowFleet.sln not found above the test binaries");
    }

    private static Task Send(ClientWebSocket ws, JsonNode frame) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(frame.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<JsonNode> Receive(ClientWebSocket ws, CancellationToken ct = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        using var ms = new MemoryStream();
        WebSocketReceiveResult r;
        do
        {
            r = await ws.ReceiveAsync(buffer, timeout.Token);
            ms.Write(buffer, 0, r.Count);
        }
        while (!r.EndOfMessage);
        return JsonNode.Parse(ms.ToArray())!;
    }
}
