using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests;

/// <summary>
/// Drills that used to kill the process (and kill it again at every restart): each runs the built server in a child
/// process, so a crash fails the test instead of the test run.
/// </summary>
public sealed class CrashDrillTests
{
    private const string SubflowCycle = """
    [{"id":"t","type":"tab","label":"Main"},
     {"id":"A","type":"subflow","name":"Outer","in":[{"x":0,"y":0,"wires":[{"id":"a1"}]}],"out":[]},
     {"id":"B","type":"subflow","name":"Inner","in":[{"x":0,"y":0,"wires":[{"id":"b1"}]}],"out":[]},
     {"id":"a1","type":"subflow:B","z":"A","x":1,"y":1,"wires":[]},
     {"id":"b1","type":"subflow:A","z":"B","x":1,"y":1,"wires":[]},
     {"id":"i","type":"subflow:A","z":"t","x":1,"y":1,"wires":[]}]
    """;

    private const string Good = """[{"id":"t","type":"tab","label":"Fixed"},{"id":"c","type":"comment","z":"t","x":1,"y":1,"wires":[]}]""";

    private static async Task<JsonObject> GetJsonAsync(ChildServer server, string path) =>
        (await server.Client.GetFromJsonAsync<JsonObject>(path))!;

    private static Task<HttpResponseMessage> DeployAsync(ChildServer server, string flows) =>
        server.Client.PostAsync("/red/flows", new StringContent(flows, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task A_subflow_cycle_is_refused_at_deploy_and_a_stored_one_starts_in_safe_mode()
    {
        var data = Directory.CreateTempSubdirectory("ff-crash-").FullName;
        await using (var server = await ChildServer.StartAsync(data))
        {
            using var refused = await DeployAsync(server, SubflowCycle);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("Subflow cycle: A (Outer) → B (Inner) → A (Outer)", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal("ok", (await GetJsonAsync(server, "/healthz"))["status"]!.GetValue<string>());
            Assert.False(server.HasExited);
        }

        // The same flows written straight into the data directory (an older version, a hand edit): no crash loop.
        await File.WriteAllTextAsync(Path.Combine(data, "flows.json"), SubflowCycle);
        await using (var server = await ChildServer.StartAsync(data))
        {
            var state = await GetJsonAsync(server, "/red/flows/state");
            Assert.Equal("safe", state["state"]!.GetValue<string>());
            Assert.Contains("Subflow cycle", state["reason"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.True((await GetJsonAsync(server, "/healthz"))["safeMode"]!.GetValue<bool>());
            Assert.Contains("Safe mode", server.Log, StringComparison.Ordinal);
            // Fixing and deploying leaves safe mode.
            using var fixedFlows = await DeployAsync(server, Good);
            Assert.True(fixedFlows.IsSuccessStatusCode, await fixedFlows.Content.ReadAsStringAsync());
            Assert.Equal("start", (await GetJsonAsync(server, "/red/flows/state"))["state"]!.GetValue<string>());
        }
        Assert.Contains("Fixed", await File.ReadAllTextAsync(Path.Combine(data, "flows.json")), StringComparison.Ordinal);
        Assert.Contains("subflow:A", await File.ReadAllTextAsync(Path.Combine(data, "flows.json.backup")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_that_died_while_starting_flows_and_the_safe_switch_start_with_flows_stopped()
    {
        var data = Directory.CreateTempSubdirectory("ff-crash-").FullName;
        await File.WriteAllTextAsync(Path.Combine(data, "flows.json"), Good);
        await File.WriteAllTextAsync(Path.Combine(data, ".flows-starting"), "2026-01-01T00:00:00Z");
        await using (var server = await ChildServer.StartAsync(data))
        {
            var state = await GetJsonAsync(server, "/red/flows/state");
            Assert.Equal("safe", state["state"]!.GetValue<string>());
            Assert.Contains("previous run stopped", state["reason"]!.GetValue<string>(), StringComparison.Ordinal);
            // The stored flows are shown (not running) so they can be fixed.
            Assert.Contains("Fixed", (await server.Client.GetStringAsync("/red/flows")), StringComparison.Ordinal);
            using var redeployed = await DeployAsync(server, Good);
            Assert.True(redeployed.IsSuccessStatusCode);
            Assert.Equal("start", (await GetJsonAsync(server, "/red/flows/state"))["state"]!.GetValue<string>());
            Assert.False(File.Exists(Path.Combine(data, ".flows-starting")));
        }
        await using (var server = await ChildServer.StartAsync(data, "--safe"))
        {
            Assert.Contains("--safe", (await GetJsonAsync(server, "/red/flows/state"))["reason"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal("stopped", (await GetJsonAsync(server, "/healthz"))["flows"]!.GetValue<string>());
        }
        await using (var server = await ChildServer.StartAsync(data))
        {
            Assert.Equal("start", (await GetJsonAsync(server, "/red/flows/state"))["state"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Json_stringify_of_a_200000_deep_array_fails_only_that_message_and_the_server_lives()
    {
        var data = Directory.CreateTempSubdirectory("ff-crash-").FullName;
        await using var server = await ChildServer.StartAsync(data);
        var deep = "var a = []; for (var i = 0; i < 200000; i++) { a = [a]; } ";
        var flows = new JsonArray(
            new JsonObject { ["id"] = "t", ["type"] = "tab" },
            new JsonObject { ["id"] = "in", ["type"] = "http in", ["z"] = "t", ["url"] = "/deep", ["method"] = "get", ["x"] = 1, ["y"] = 1, ["wires"] = new JsonArray(new JsonArray("fn")) },
            new JsonObject { ["id"] = "fn", ["type"] = "function", ["z"] = "t", ["func"] = deep + "msg.payload = JSON.stringify(a).length; return msg;", ["x"] = 1, ["y"] = 1, ["wires"] = new JsonArray(new JsonArray("res")) },
            new JsonObject { ["id"] = "catch", ["type"] = "catch", ["z"] = "t", ["scope"] = null, ["x"] = 1, ["y"] = 1, ["wires"] = new JsonArray(new JsonArray("say")) },
            new JsonObject { ["id"] = "say", ["type"] = "function", ["z"] = "t", ["func"] = "msg.payload = 'caught ' + msg.error.message; return msg;", ["x"] = 1, ["y"] = 1, ["wires"] = new JsonArray(new JsonArray("res")) },
            new JsonObject { ["id"] = "res", ["type"] = "http response", ["z"] = "t", ["x"] = 1, ["y"] = 1, ["wires"] = new JsonArray() });
        using var deployed = await DeployAsync(server, flows.ToJsonString());
        Assert.True(deployed.IsSuccessStatusCode, await deployed.Content.ReadAsStringAsync());
        for (var i = 0; i < 2; i++)
        {
            var answer = await server.Client.GetStringAsync("/deep");
            Assert.StartsWith("caught RangeError: JSON.stringify: value nested more than", answer, StringComparison.Ordinal);
        }
        Assert.Equal("ok", (await GetJsonAsync(server, "/healthz"))["status"]!.GetValue<string>());
        Assert.False(server.HasExited);
    }
}
