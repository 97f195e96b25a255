using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests;

/// <summary>
/// <c>POST /red/flows</c> answers once the flows are saved and the changed nodes stopped; the new nodes start after the
/// answer (as Node-RED's). What a client sends right after the answer still reaches the new nodes.
/// </summary>
public sealed class DeployAnswerTests
{
    private static string Flow(string answer) => $$"""
        [{"id":"t1","type":"tab"},
         {"id":"get","type":"http in","z":"t1","url":"/answer","method":"get","x":1,"y":1,"wires":[["set"]]},
         {"id":"set","type":"change","z":"t1","rules":[{"t":"set","p":"payload","pt":"msg","to":"{{answer}}","tot":"str"}],"x":1,"y":1,"wires":[["res"]]},
         {"id":"res","type":"http response","z":"t1","x":1,"y":1,"wires":[]},
         {"id":"inj","type":"inject","z":"t1","x":1,"y":1,"wires":[["dbg"]]},
         {"id":"dbg","type":"debug","z":"t1","x":1,"y":1,"wires":[]}]
        """;

    [Fact]
    public async Task A_request_and_an_inject_sent_right_after_a_full_deploy_answered_reach_the_new_nodes()
    {
        // Every deploy starts its nodes after the answer, however few.
        await using var s = await ServerFixture.StartAsync(noAuth: false, dataDir: null, "--Flows:StartAfterAnswerNodes", "1");
        using var admin = await s.AdminAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(Flow("one")))).StatusCode);
        Assert.Equal("one", await admin.GetStringAsync("/answer"));

        for (var round = 0; round < 5; round++)
        {
            using var deploy = new HttpRequestMessage(HttpMethod.Post, "/red/flows") { Content = AuthTests.Json(Flow("two-" + round)) };
            deploy.Headers.Add("Node-RED-API-Version", "v2");
            deploy.Headers.Add("Node-RED-Deployment-Type", "full");
            var answered = await admin.SendAsync(deploy);
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            var rev = (await answered.Content.ReadFromJsonAsync<JsonObject>())!["rev"]!.GetValue<string>();

            // Sent at once: served by the new nodes, never a 404 for a route still being registered nor the old answer.
            var got = await admin.GetAsync("/answer");
            Assert.Equal(HttpStatusCode.OK, got.StatusCode);
            Assert.Equal("two-" + round, await got.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/red/inject/inj", null)).StatusCode);
            var health = await s.Client.GetFromJsonAsync<JsonObject>("/healthz");
            Assert.Equal(rev, health!["rev"]!.GetValue<string>());
        }
        var state = await s.Client.GetFromJsonAsync<JsonObject>("/healthz");
        Assert.Equal("started", state!["flows"]!.GetValue<string>());
    }
}
