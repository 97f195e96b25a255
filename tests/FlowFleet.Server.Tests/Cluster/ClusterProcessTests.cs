using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace FlowFleet.Server.Tests.Cluster;

/// <summary>
/// Issue 20's "done when": PostgreSQL, nats-server and three FlowFleet processes on loopback, devices behind a TCP load
/// balancer. Devices connect to A; an RPC through B's REST reaches them; a flow deployed through C runs on all three, a
/// device-triggered node once per event and a cron timer once per tick (both counted by an HTTP endpoint in this test);
/// killing A moves its devices to B and C as they reconnect, with nothing lost from the shared registry. A persistent
/// context value a flow writes on A is read by the same flow on B (and on C after A is gone); memory context stays on A.
/// </summary>
public sealed class ClusterProcessTests
{
    // Generous: three servers, PostgreSQL and NATS share a loaded 2-core machine with other test runs.
    private const int Slow = 90_000;

    [Fact]
    public async Task Three_instances_share_devices_flows_and_registry_and_survive_losing_one()
    {
        var pg = await PostgresServer.SharedAsync();
        var connection = await pg.CreateDatabaseAsync();
        await using var nats = await NatsServer.StartAsync();
        await using var counter = await Counter.StartAsync();
        var subject = "ff" + Guid.NewGuid().ToString("N")[..6];
        string[] Args(string name) =>
        [
            "--Storage:Provider", "postgres", "--Storage:ConnectionString", connection, "--Cluster:Nats", nats.Url, "--Cluster:Instance", name,
            "--Cluster:Subject", subject, "--Cluster:LeaseSeconds", "3", "--Fleet:Admission", "auto",
            // A memory store (the default) and a persistent one, which the cluster shares through PostgreSQL.
            "--Flows:ContextStorage:default:Module", "memory", "--Flows:ContextStorage:file:Module", "localfilesystem",
        ];
        var root = Directory.CreateTempSubdirectory("flowfleet-cluster-").FullName;
        ChildServer? a = null, b = null, c = null;
        try
        {
            // A first: it creates the schema (migrations); B and C start on a database that is ready.
            a = await ChildServer.StartAsync(Dir(root, "a"), Args("a"));
            b = await ChildServer.StartAsync(Dir(root, "b"), Args("b"));
            c = await ChildServer.StartAsync(Dir(root, "c"), Args("c"));
            await using var balancer = new TcpBalancer(a.Client.BaseAddress!);
            var sim = new SimOptions { MinBackoff = TimeSpan.FromMilliseconds(200), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromSeconds(5) };
            await using var fleet = new SimFleet($"ws://127.0.0.1:{balancer.Port}/shelly", 3, "plus1pm", sim);
            await fleet.StartAsync();
            var ids = fleet.Devices.Select(d => d.Id).ToArray();
            var views = new string[3];
            await Poll.UntilAsync(async () =>
                {
                    var seen = await Task.WhenAll(new[] { a, b, c }.Select(s => ViewAsync(s, ids)));
                    for (var i = 0; i < seen.Length; i++)
                    {
                        views[i] = seen[i].View;
                    }
                    return seen.All(v => v.All);
                },
                () => $"the devices {string.Join(", ", ids)} online on A, and B and C learn them; each instance's mirror:\n A: {views[0]}\n B: {views[1]}\n C: {views[2]}", Slow);

            // An RPC through B's REST API reaches a device connected to A.
            var rpc = await b.Client.PostAsJsonAsync($"/api/devices/{ids[0]}/rpc", new { method = "Switch.Set", @params = new { id = 0, on = true } });
            Assert.True(rpc.IsSuccessStatusCode, await rpc.Content.ReadAsStringAsync());
            Assert.False((await rpc.Content.ReadFromJsonAsync<JsonObject>())!["was_on"]!.GetValue<bool>());
            Assert.True(fleet[ids[0]].Status("switch:0")!["output"]!.GetValue<bool>());
            // Something only the registry knows, set through B: it must outlive A.
            var named = await b.Client.PatchAsJsonAsync($"/api/devices/{ids[1]}", new { name = "Kitchen", tags = new[] { "cluster" } });
            Assert.True(named.IsSuccessStatusCode, await named.Content.ReadAsStringAsync());

            // A flow deployed through C runs on all three instances.
            var rev = await DeployAsync(c, Flows(counter.Url));
            foreach (var s in new[] { a, b })
            {
                await Poll.UntilAsync(async () => await RevAsync(s) == rev, "the deploy through C reaches every instance", Slow);
            }

            // The cron timer fires once per tick across the cluster (one instance holds its lease).
            await Poll.UntilAsync(() => counter.Ticks.Count >= 4, () => $"cron ticks arrive (got {counter.Ticks.Count})", Slow);
            // Each button press runs the device-triggered flow once, on the instance holding the device.
            foreach (var id in ids)
            {
                fleet[id].Press(0);
            }
            await Poll.UntilAsync(() => counter.Events.Count >= ids.Length, () => $"device events arrive (got {counter.Events.Count})", Slow);
            // Give a duplicate time to arrive: two more ticks pass through the same flows on every instance.
            var ticks = counter.Ticks.Count;
            await Poll.UntilAsync(() => counter.Ticks.Count >= ticks + 2, "two more ticks", Slow);
            Assert.Equal(ids.Order(), counter.Events.Select(e => e.Device).Order());
            AssertOncePerTick(counter);

            // Persistent context is shared: a flow on A writes it, the same flow on B reads it; memory context stays on A.
            using (var set = await a.Client.PostAsJsonAsync("/ctx", new { v = "from-a" }))
            {
                Assert.True(set.IsSuccessStatusCode, await set.Content.ReadAsStringAsync());
            }
            await Poll.UntilAsync(async () => (string?)(await ContextAsync(b))["shared"] == "from-a", "B reads the persistent value A's flow wrote", Slow);
            Assert.Null((await ContextAsync(b))["local"]);
            Assert.Equal("from-a", (string?)(await ContextAsync(a))["local"]);

            // A dies. Its devices reconnect through the balancer to B and C; nothing is lost from the registry.
            var killedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            balancer.Backends = [b.Client.BaseAddress!, c.Client.BaseAddress!];
            await a.StopAsync(kill: true);
            // Until they reconnect, B and C may still route to A (it died without a word) and get -114; then they answer.
            await Poll.UntilAsync(async () => (await Task.WhenAll(ids.Select(id => ClusterChecks.AnswersAsync(c.Client, id)))).All(x => x),
                "every device answers an RPC through C again (reconnected to B or C)", Slow);
            Assert.True(await ClusterChecks.OnlineAsync(b.Client, ids) && await ClusterChecks.OnlineAsync(c.Client, ids));
            var kitchen = await b.Client.GetFromJsonAsync<JsonObject>($"/api/devices/{ids[1]}");
            Assert.Equal("Kitchen", (string?)kitchen!["name"]);
            var list = await c.Client.GetFromJsonAsync<JsonObject>("/api/devices?limit=100");
            Assert.Equal(ids.Order(), list!["items"]!.AsArray().Select(d => (string)d!["id"]!).Order());
            Assert.Contains(list["items"]!.AsArray(), d => (string?)d!["name"] == "Kitchen" && d["tags"]!.AsArray().Any(t => (string?)t == "cluster"));

            // The timer keeps firing once per tick without A (its lease moves if A held it), and events still run once.
            await Poll.UntilAsync(() => counter.Ticks.Keys.Count(t => t > killedAt + 1) >= 3, "ticks after A died", Slow);
            fleet[ids[2]].Press(0);
            await Poll.UntilAsync(() => counter.Events.Count >= ids.Length + 1, "the event after the move", Slow);
            ticks = counter.Ticks.Count;
            await Poll.UntilAsync(() => counter.Ticks.Count >= ticks + 2, "two more ticks", Slow);
            Assert.Equal(ids.Length + 1, counter.Events.Count);
            AssertOncePerTick(counter);
            // The persistent value outlives A.
            Assert.Equal("from-a", (string?)(await ContextAsync(c))["shared"]);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"{ex.Message}\n--- A ---\n{Tail(a)}\n--- B ---\n{Tail(b)}\n--- C ---\n{Tail(c)}", ex);
        }
        finally
        {
            foreach (var s in new[] { a, b, c })
            {
                if (s is not null)
                {
                    await s.DisposeAsync();
                }
            }
            Directory.Delete(root, recursive: true);
        }
    }

    private static void AssertOncePerTick(Counter counter)
    {
        var twice = counter.Ticks.Where(t => t.Value > 1).Select(t => t.Key).ToList();
        Assert.True(twice.Count == 0, $"ticks run more than once: {string.Join(", ", twice)} (fired at ms: {string.Join(", ", counter.TickTimes.Where(ms => twice.Contains((ms + 50) / 1000)))})");
    }

    private static string Tail(ChildServer? s) => s is null ? "(not started)" : string.Join('\n', s.Log.Split('\n').TakeLast(40));

    private static string Dir(string root, string name) => Directory.CreateDirectory(Path.Combine(root, name)).FullName;

    /// <summary>Whether the instance lists every device online, and what it holds (online devices, its cluster and fan-out view).</summary>
    private static async Task<(bool All, string View)> ViewAsync(ChildServer s, string[] ids)
    {
        try
        {
            var list = await s.Client.GetFromJsonAsync<JsonObject>("/api/devices?limit=100&admission=any");
            var items = list!["items"]!.AsArray();
            var online = items.Where(d => d!["online"]?.GetValue<bool>() == true).Select(d => (string)d!["id"]!).ToHashSet();
            var health = await s.Client.GetFromJsonAsync<JsonObject>("/healthz");
            var view = $"online [{string.Join(", ", online.Order())}], offline [{string.Join(", ", items.Select(d => (string)d!["id"]!).Where(id => !online.Contains(id)).Order())}], cluster {health?["cluster"]?.ToJsonString()}";
            return (ids.All(online.Contains), view);
        }
        catch (HttpRequestException ex)
        {
            return (false, "unreachable: " + ex.Message);
        }
    }

    private static async Task<string> DeployAsync(ChildServer s, JsonArray flows)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/red/flows") { Content = JsonContent.Create(flows) };
        request.Headers.Add("Node-RED-Deployment-Type", "full");
        request.Headers.Add("Node-RED-API-Version", "v2");
        using var response = await s.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return (string)JsonNode.Parse(body)!["rev"]!;
    }

    private static async Task<JsonObject> ContextAsync(ChildServer s) => (await s.Client.GetFromJsonAsync<JsonObject>("/ctx"))!;

    private static async Task<string?> RevAsync(ChildServer s)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/red/flows");
        request.Headers.Add("Node-RED-API-Version", "v2");
        using var response = await s.Client.SendAsync(request);
        return response.IsSuccessStatusCode ? (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["rev"] : null;
    }

    /// <summary>A device-triggered flow and a timer firing every second, each posting to the test's counter.</summary>
    private static JsonArray Flows(string counter) =>
    [
        new JsonObject { ["id"] = "t1", ["type"] = "tab", ["label"] = "cluster" },
        new JsonObject
        {
            ["id"] = "in1", ["type"] = "shelly in", ["z"] = "t1", ["targetType"] = "all", ["events"] = "event", ["x"] = 100, ["y"] = 80,
            ["wires"] = new JsonArray(new JsonArray("fn1")),
        },
        new JsonObject
        {
            ["id"] = "fn1", ["type"] = "function", ["z"] = "t1", ["outputs"] = 1, ["x"] = 300, ["y"] = 80,
            ["func"] = "msg.payload = { device: msg.topic, event: msg.payload.event, ts: msg.payload.ts };\nreturn msg;",
            ["wires"] = new JsonArray(new JsonArray("req1")),
        },
        new JsonObject
        {
            ["id"] = "req1", ["type"] = "http request", ["z"] = "t1", ["method"] = "POST", ["url"] = counter + "/event", ["ret"] = "txt",
            ["x"] = 500, ["y"] = 80, ["wires"] = new JsonArray(new JsonArray()),
        },
        new JsonObject
        {
            ["id"] = "tm1", ["type"] = "timer", ["z"] = "t1", ["mode"] = "cron", ["cron"] = "* * * * * *", ["startOnDeploy"] = true,
            ["onPayload"] = "", ["onPayloadType"] = "date", ["x"] = 100, ["y"] = 160, ["wires"] = new JsonArray(new JsonArray("req2")),
        },
        new JsonObject
        {
            ["id"] = "req2", ["type"] = "http request", ["z"] = "t1", ["method"] = "POST", ["url"] = counter + "/tick", ["ret"] = "txt",
            ["x"] = 300, ["y"] = 160, ["wires"] = new JsonArray(new JsonArray()),
        },
        // POST /ctx writes a value to the persistent store and to memory; GET /ctx reads both back.
        new JsonObject { ["id"] = "cs1", ["type"] = "http in", ["z"] = "t1", ["url"] = "/ctx", ["method"] = "post", ["x"] = 100, ["y"] = 240, ["wires"] = new JsonArray(new JsonArray("cs2")) },
        new JsonObject
        {
            ["id"] = "cs2", ["type"] = "function", ["z"] = "t1", ["outputs"] = 1, ["x"] = 300, ["y"] = 240,
            ["func"] = "global.set('shared', msg.payload.v, 'file');\nglobal.set('local', msg.payload.v);\nmsg.payload = { ok: true };\nreturn msg;",
            ["wires"] = new JsonArray(new JsonArray("cs3")),
        },
        new JsonObject { ["id"] = "cs3", ["type"] = "http response", ["z"] = "t1", ["x"] = 500, ["y"] = 240, ["wires"] = new JsonArray() },
        new JsonObject { ["id"] = "cg1", ["type"] = "http in", ["z"] = "t1", ["url"] = "/ctx", ["method"] = "get", ["x"] = 100, ["y"] = 300, ["wires"] = new JsonArray(new JsonArray("cg2")) },
        new JsonObject
        {
            ["id"] = "cg2", ["type"] = "function", ["z"] = "t1", ["outputs"] = 1, ["x"] = 300, ["y"] = 300,
            ["func"] = "msg.payload = { shared: global.get('shared', 'file') ?? null, local: global.get('local') ?? null };\nreturn msg;",
            ["wires"] = new JsonArray(new JsonArray("cs3")),
        },
    ];

    /// <summary>What the flows post: device events, and ticks by the second they fired in (a tick fired twice counts 2).</summary>
    private sealed class Counter : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private Counter(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";

        public ConcurrentQueue<(string Device, string? Event)> Events { get; } = new();

        public ConcurrentDictionary<long, int> Ticks { get; } = new();

        /// <summary>Every tick's payload (ms), for the failure message.</summary>
        public ConcurrentQueue<long> TickTimes { get; } = new();

        public static async Task<Counter> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var counter = new Counter(app);
            app.MapPost("/event", async (HttpRequest request) =>
            {
                var body = await JsonNode.ParseAsync(request.Body);
                counter.Events.Enqueue(((string?)body?["device"] ?? "?", (string?)body?["event"]));
                return Results.Ok();
            });
            app.MapPost("/tick", async (HttpRequest request) =>
            {
                using var reader = new StreamReader(request.Body);
                var ms = long.Parse((await reader.ReadToEndAsync()).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                // The payload is the time the tick fired: a timer may wake a few ms before the second it serves (and, on a
                // loaded machine, late), so a tick belongs to the second it is within 50 ms before or 950 ms after.
                counter.Ticks.AddOrUpdate((ms + 50) / 1000, 1, (_, n) => n + 1);
                counter.TickTimes.Enqueue(ms);
                return Results.Ok();
            });
            await app.StartAsync();
            counter.Url = app.Urls.First();
            return counter;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
