using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests;

public sealed class RedApiTests
{
    private const string Flow = """
        [{"id":"t1","type":"tab","label":"one"},
         {"id":"inj","type":"inject","z":"t1","props":[{"p":"payload","v":"7","vt":"num"}],"x":10,"y":10,"wires":[["fn"]]},
         {"id":"fn","type":"function","z":"t1","func":"node.status({fill:'green',shape:'dot',text:'got ' + msg.payload}); msg.payload = msg.payload * 6; return msg;","x":10,"y":10,"wires":[["dbg"]]},
         {"id":"dbg","type":"debug","z":"t1","complete":"payload","tosidebar":true,"x":10,"y":10,"wires":[]}]
        """;

    [Fact]
    public async Task Flows_come_back_as_v1_array_or_v2_with_rev_and_a_stale_rev_is_a_conflict()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(Flow))).StatusCode);
        Assert.Equal(4, (await admin.GetFromJsonAsync<JsonArray>("/red/flows"))!.Count);

        using var v2 = new HttpRequestMessage(HttpMethod.Get, "/red/flows");
        v2.Headers.Add("Node-RED-API-Version", "v2");
        var body = await (await admin.SendAsync(v2)).Content.ReadFromJsonAsync<JsonObject>();
        var rev = body!["rev"]!.GetValue<string>();
        Assert.Equal(64, rev.Length);

        var next = new JsonObject { ["rev"] = rev, ["flows"] = body["flows"]!.DeepClone() };
        var ok = await Post(admin, next.ToJsonString(), "nodes");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var stale = await Post(admin, new JsonObject { ["rev"] = "0000", ["flows"] = new JsonArray() }.ToJsonString(), "full");
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Equal("version_mismatch", (await stale.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>());
        Assert.Equal(4, (await admin.GetFromJsonAsync<JsonArray>("/red/flows"))!.Count);
    }

    [Fact]
    public async Task Invalid_flows_are_refused_with_a_message_and_nothing_changes()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        await admin.PostAsync("/red/flows", AuthTests.Json(Flow));
        var bad = await admin.PostAsync("/red/flows", AuthTests.Json("""[{"id":"a","type":"inject","z":"missing","x":1,"y":1}]"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("missing tab", (await bad.Content.ReadFromJsonAsync<JsonObject>())!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var reserved = await admin.PostAsync("/red/flows", AuthTests.Json("""[{"id":"t","type":"tab"},{"id":"h","type":"http in","z":"t","url":"/red/steal","method":"get","x":1,"y":1,"wires":[]}]"""));
        Assert.Equal(HttpStatusCode.BadRequest, reserved.StatusCode);
        Assert.Contains("/red", await reserved.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(4, (await admin.GetFromJsonAsync<JsonArray>("/red/flows"))!.Count);
        Assert.Contains("\"inj\"", await File.ReadAllTextAsync(Path.Combine(s.DataDir, "flows.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inject_state_single_flow_nodes_and_settings_endpoints_work()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        await admin.PostAsync("/red/flows", AuthTests.Json(Flow));
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/red/inject/inj", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/red/inject/nope", null)).StatusCode);

        Assert.Equal("start", (await admin.GetFromJsonAsync<JsonObject>("/red/flows/state"))!["state"]!.GetValue<string>());
        var stopped = await admin.PostAsync("/red/flows/state", AuthTests.Json("""{"state":"stop"}"""));
        Assert.Equal("stop", (await stopped.Content.ReadFromJsonAsync<JsonObject>())!["state"]!.GetValue<string>());
        await admin.PostAsync("/red/flows/state", AuthTests.Json("""{"state":"start"}"""));

        var flow = await admin.GetFromJsonAsync<JsonObject>("/red/flow/t1");
        Assert.Equal("one", flow!["label"]!.GetValue<string>());
        Assert.Equal(3, flow["nodes"]!.AsArray().Count);
        var created = await admin.PostAsync("/red/flow", AuthTests.Json("""{"label":"two","nodes":[{"id":"c1","type":"comment","x":1,"y":1,"wires":[]}]}"""));
        var newId = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        Assert.Equal(6, (await admin.GetFromJsonAsync<JsonArray>("/red/flows"))!.Count);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/red/flow/{newId}", AuthTests.Json("""{"label":"renamed","nodes":[]}"""))).StatusCode);
        Assert.Equal("renamed", (await admin.GetFromJsonAsync<JsonObject>($"/red/flow/{newId}"))!["label"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/red/flow/{newId}")).StatusCode);
        Assert.Equal(4, (await admin.GetFromJsonAsync<JsonArray>("/red/flows"))!.Count);

        var nodes = await admin.GetFromJsonAsync<JsonArray>("/red/nodes");
        Assert.Contains(nodes!, n => n!["types"]!.AsArray().Any(t => t!.GetValue<string>() == "function"));
        // Each type under its real module: Node-RED's core types as node-red, the fleet types not.
        string ModuleOf(string type) => nodes!.Single(n => n!["types"]!.AsArray().Any(t => t!.GetValue<string>() == type))!["module"]!.GetValue<string>();
        Assert.Equal("node-red", ModuleOf("function"));
        Assert.Equal("flowfleet-fleet", ModuleOf("shelly in"));
        var settings = await admin.GetFromJsonAsync<JsonObject>("/red/settings");
        Assert.Equal("/", settings!["httpNodeRoot"]!.GetValue<string>());
    }

    [Fact]
    public async Task Credentials_are_kept_out_of_flows_json_and_stored_encrypted()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        var flows = """[{"id":"t","type":"tab"},{"id":"cfg","type":"mqtt-broker","broker":"localhost","credentials":{"user":"bob","password":"hunter2-secret"}}]""";
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(flows))).StatusCode);
        Assert.DoesNotContain("hunter2", await File.ReadAllTextAsync(Path.Combine(s.DataDir, "flows.json")), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", await File.ReadAllTextAsync(Path.Combine(s.DataDir, "flows_cred.json")), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", await admin.GetStringAsync("/red/flows"), StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> Post(HttpClient client, string body, string type)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/red/flows") { Content = AuthTests.Json(body) };
        request.Headers.Add("Node-RED-API-Version", "v2");
        request.Headers.Add("Node-RED-Deployment-Type", type);
        return client.SendAsync(request);
    }
}
