using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.Server.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

public sealed class FlowHistoryTests
{
    // A: inject → function (×6) → debug, and a comment that B removes.
    private const string FlowA = """
        [{"id":"t1","type":"tab","label":"one"},
         {"id":"inj","type":"inject","z":"t1","props":[{"p":"payload","v":"7","vt":"num"}],"x":100,"y":80,"wires":[["fn"]]},
         {"id":"fn","type":"function","z":"t1","func":"msg.payload = msg.payload * 6;\nreturn msg;","outputs":1,"x":300,"y":80,"wires":[["dbg"]]},
         {"id":"dbg","type":"debug","z":"t1","complete":"payload","x":500,"y":80,"wires":[]},
         {"id":"note","type":"comment","z":"t1","name":"old note","x":100,"y":200,"wires":[]}]
        """;

    // B: the function's code changes (×2), the inject moves, the comment goes, a second debug is added and wired.
    private const string FlowB = """
        [{"id":"t1","type":"tab","label":"one"},
         {"id":"inj","type":"inject","z":"t1","props":[{"p":"payload","v":"7","vt":"num"}],"x":140,"y":120,"wires":[["fn"]]},
         {"id":"fn","type":"function","z":"t1","func":"msg.payload = msg.payload * 2;\nreturn msg;","outputs":1,"x":300,"y":80,"wires":[["dbg","dbg2"]]},
         {"id":"dbg","type":"debug","z":"t1","complete":"payload","x":500,"y":80,"wires":[]},
         {"id":"dbg2","type":"debug","z":"t1","complete":"true","x":500,"y":160,"wires":[]}]
        """;

    [Fact]
    public async Task Deploy_A_then_B_the_diff_names_every_change_and_restoring_A_makes_A_live_as_a_new_version()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        using var deployA = new HttpRequestMessage(HttpMethod.Post, "/red/flows") { Content = AuthTests.Json(FlowA) };
        deployA.Headers.Add("FlowFleet-Deploy-Message", "first cut");
        Assert.Equal(HttpStatusCode.NoContent, (await admin.SendAsync(deployA)).StatusCode);
        var revA = (await admin.GetFromJsonAsync<JsonObject>("/healthz"))!["rev"]!.GetValue<string>();
        using var deployB = new HttpRequestMessage(HttpMethod.Post, "/red/flows")
        {
            Content = AuthTests.Json(new JsonObject { ["flows"] = JsonNode.Parse(FlowB), ["message"] = "double, not six times" }.ToJsonString()),
        };
        deployB.Headers.Add("Node-RED-API-Version", "v2");
        deployB.Headers.Add("Node-RED-Deployment-Type", "nodes");
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(deployB)).StatusCode);

        var list = (await admin.GetFromJsonAsync<JsonObject>("/api/flows/history"))!;
        var items = list["items"]!.AsArray();
        Assert.Equal(3, items.Count); // B, A, and the empty flows the server started with
        var (b, a) = (items[0]!, items[1]!);
        Assert.Equal("double, not six times", b["message"]!.GetValue<string>());
        Assert.Equal("nodes", b["type"]!.GetValue<string>());
        Assert.Equal("admin", b["user"]!.GetValue<string>());
        Assert.True(b["live"]!.GetValue<bool>());
        Assert.Equal("first cut", a["message"]!.GetValue<string>());
        Assert.Equal("full", a["type"]!.GetValue<string>());
        Assert.Equal(revA, a["rev"]!.GetValue<string>());
        Assert.Equal(4, a["nodes"]!.GetValue<int>());
        Assert.Equal("load", items[2]!["type"]!.GetValue<string>());
        var versionA = a["version"]!.GetValue<long>();
        var versionB = b["version"]!.GetValue<long>();

        var diff = (await admin.GetFromJsonAsync<JsonObject>($"/api/flows/history/diff?from={versionA}&to={versionB}"))!;
        var summary = diff["summary"]!;
        Assert.Equal(1, summary["added"]!.GetValue<int>());
        Assert.Equal(1, summary["removed"]!.GetValue<int>());
        Assert.Equal(1, summary["changed"]!.GetValue<int>());
        Assert.Equal(1, summary["moved"]!.GetValue<int>());
        JsonNode Obj(string id) => diff["objects"]!.AsArray().Single(o => o!["id"]!.GetValue<string>() == id)!;
        Assert.Equal("added", Obj("dbg2")["change"]!.GetValue<string>());
        Assert.Equal("removed", Obj("note")["change"]!.GetValue<string>());
        Assert.Equal("moved", Obj("inj")["change"]!.GetValue<string>());
        var fn = Obj("fn");
        Assert.Equal("changed", fn["change"]!.GetValue<string>());
        var func = fn["properties"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "func")!;
        Assert.Equal(["-msg.payload = msg.payload * 6;", "+msg.payload = msg.payload * 2;", " return msg;"],
            func["lines"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Contains(fn["properties"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "wires");
        var added = Assert.Single(diff["wires"]!["added"]!.AsArray())!;
        Assert.Equal(("fn", 0, "dbg2"), (added["source"]!.GetValue<string>(), added["port"]!.GetValue<int>(), added["target"]!.GetValue<string>()));
        Assert.Empty(diff["wires"]!["removed"]!.AsArray());
        // "current" is what runs now (B), and a rev works like a version number.
        var againstCurrent = (await admin.GetFromJsonAsync<JsonObject>($"/api/flows/history/diff?from={revA}"))!;
        Assert.Equal(summary.ToJsonString(), againstCurrent["summary"]!.ToJsonString());

        var kept = (await admin.GetFromJsonAsync<JsonObject>($"/api/flows/history/{versionA}"))!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(FlowA), kept["flows"]));

        var restore = await admin.PostAsync($"/api/flows/history/{versionA}/restore", AuthTests.Json("""{"message":"back to six"}"""));
        Assert.Equal(HttpStatusCode.OK, restore.StatusCode);
        var restored = (await restore.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(revA, restored["rev"]!.GetValue<string>());
        Assert.Equal(revA, (await admin.GetFromJsonAsync<JsonObject>("/healthz"))!["rev"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(FlowA), await admin.GetFromJsonAsync<JsonArray>("/red/flows")));
        Assert.Contains("\"note\"", await File.ReadAllTextAsync(Path.Combine(s.DataDir, "flows.json")), StringComparison.Ordinal);
        // The running function is A's again: inject and read what the debug node shows.
        var engine = s.App.Services.GetRequiredService<FlowFleet.Runtime.FlowEvents>();
        var got = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (engine.Debug.Subscribe(m => got.TrySetResult(m.Value)))
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/red/inject/inj", null)).StatusCode);
            Assert.Equal("42", (await got.Task.WaitAsync(TimeSpan.FromSeconds(10)))!.ToJsonString());
        }

        // History was not rewritten: the restore is a fourth version pointing back at A.
        var after = (await admin.GetFromJsonAsync<JsonObject>("/api/flows/history"))!["items"]!.AsArray();
        Assert.Equal(4, after.Count);
        Assert.Equal(versionA, after[0]!["restoredFrom"]!.GetValue<long>());
        Assert.Equal("back to six", after[0]!["message"]!.GetValue<string>());
        Assert.Equal(versionB, after[1]!["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task Viewers_read_history_but_cannot_restore_and_bad_requests_get_clear_errors()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        await admin.PostAsync("/red/flows", AuthTests.Json(FlowA));
        await s.App.Services.GetRequiredService<UserService>().AddAsync("vera", Roles.Viewer, "viewer-pass-1");
        using var viewer = s.Authorized(await s.TokenAsync("vera", "viewer-pass-1"));
        var items = (await viewer.GetFromJsonAsync<JsonObject>("/api/flows/history"))!["items"]!.AsArray();
        var version = items[0]!["version"]!.GetValue<long>();
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/api/flows/history/{version}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync($"/api/flows/history/{version}/restore", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client.GetAsync("/api/flows/history")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/flows/history/9999")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/flows/history/not-a-version")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/api/flows/history/9999/restore", null)).StatusCode);
        var noFrom = await admin.GetAsync("/api/flows/history/diff");
        Assert.Equal(HttpStatusCode.BadRequest, noFrom.StatusCode);
        Assert.Contains("from is required", await noFrom.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/flows/history/diff?from=1&to=777")).StatusCode);

        var openApi = await admin.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/flows/history/{rev}/restore", openApi, StringComparison.Ordinal);
        Assert.Contains("/api/flows/history/diff", openApi, StringComparison.Ordinal);
    }

    [Fact]
    public async Task History_survives_a_restart_and_unchanged_flows_at_start_add_no_version()
    {
        var dataDir = Directory.CreateTempSubdirectory("flowfleet-history-").FullName;
        await using (var s = await ServerFixture.StartAsync(dataDir: dataDir))
        {
            using var admin = await s.AdminAsync();
            await admin.PostAsync("/red/flows", AuthTests.Json(FlowA));
        }
        await using var again = await ServerFixture.StartAsync(dataDir: dataDir);
        using var client = await again.AdminAsync();
        var items = (await client.GetFromJsonAsync<JsonObject>("/api/flows/history"))!["items"]!.AsArray();
        Assert.Equal(["full", "load"], items.Select(i => i!["type"]!.GetValue<string>()));
        Assert.True(items[0]!["live"]!.GetValue<bool>());
    }
}
