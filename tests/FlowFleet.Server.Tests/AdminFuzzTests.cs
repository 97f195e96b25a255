using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests;

/// <summary>
/// Fuzzes the bodies, routes and queries of the flow and admin endpoints (<c>/red/*</c>, <c>/api/*</c>): every field of a
/// valid request given as a number, string, array, object, null, a long or odd string. Bad input must get a 4xx with a
/// message, never a 5xx. Deterministic (fixed seed), a few hundred requests, loopback only; <c>bench/drills/engine-drills.sh fuzz</c>
/// runs this test on its own.
/// </summary>
public sealed class AdminFuzzTests
{
    private static readonly string[] s_variants =
    [
        "1", "-1", "1e308", "0.5", "true", "false", "null", "\"\"", "\"x\"", "[]", "[1,\"a\",null]", "{}", "{\"a\":{\"b\":[1]}}",
        "\"" + new string('a', 5000) + "\"", "\"../../etc/passwd\"", "\"\\u0000\"", new string('[', 20) + "1" + new string(']', 20),
    ];

    /// <summary>A valid request per endpoint (method, path, body); each top-level and node field gets mutated.</summary>
    private static readonly (string Method, string Path, string Body)[] s_templates =
    [
        ("POST", "/red/flows", """[{"id":"t","type":"tab","label":"L"},{"id":"n","type":"inject","z":"t","x":1,"y":1,"wires":[["d"]],"repeat":"","payloadType":"date"},{"id":"d","type":"debug","z":"t","x":1,"y":1,"wires":[]},{"id":"h","type":"http in","z":"t","url":"/fz","method":"get","x":1,"y":1,"wires":[[]]}]"""),
        ("POST", "/red/flows", """{"rev":"abc","flows":[{"id":"t","type":"tab"}],"credentials":{"t":{"user":"u"}}}"""),
        ("POST", "/red/flows/state", """{"state":"start"}"""),
        ("POST", "/red/flow", """{"id":"f1","label":"F","nodes":[{"id":"c1","type":"comment","x":1,"y":1,"wires":[]}],"configs":[],"env":[],"disabled":false,"info":""}"""),
        ("PUT", "/red/flow/t", """{"id":"t","label":"F","nodes":[{"id":"c2","type":"comment","x":1,"y":1,"wires":[]}],"disabled":false}"""),
        ("POST", "/red/inject/n", """{"__user_inject_props__":[{"p":"payload","v":"1","vt":"num"}]}"""),
        ("POST", "/api/users", """{"name":"fz","role":"viewer","password":"fuzz-password-1"}"""),
        ("POST", "/api/groups", """{"name":"g1","description":"d"}"""),
        ("POST", "/api/enrollment-tokens", """{"name":"tok","group":"g1","expiresInHours":1}"""),
    ];

    private static readonly (string Method, string Path)[] s_routes =
    [
        ("GET", "/red/context/global/k?store=bogus"), ("GET", "/red/context/flow/t/k?store=1"), ("GET", "/red/context/node/n/k?store=%00"),
        ("DELETE", "/red/context/global/k?store=bogus"), ("DELETE", "/red/context/flow/%2e%2e/k"), ("GET", "/red/context/global/a..b"),
        ("GET", "/red/context/global/payload[x]"), ("POST", "/red/debug/d/sideways"), ("POST", "/red/inject/missing"), ("GET", "/red/flow/%00"),
        ("DELETE", "/red/flow/missing"), ("GET", "/red/nodes/x/y"), ("GET", "/api/flows/history/notarev"), ("POST", "/api/flows/history/notarev/restore"),
        ("GET", "/api/flows/history/diff?from=x&to=1"), ("GET", "/api/devices/%20/events?limit=abc"), ("GET", "/api/devices/x/telemetry?from=yesterday"),
    ];

    [Fact]
    public async Task A_large_deploy_with_a_lone_surrogate_or_a_property_named_twice_is_a_400()
    {
        // Bodies from 64 KB on are checked for text beside their parse, and a document reads its ids from its own bytes.
        await using var server = await ServerFixture.StartAsync();
        using var admin = await server.AdminAsync();
        var filler = new string('a', 70_000);
        foreach (var body in new[]
        {
            "[{\"id\":\"t\",\"type\":\"tab\",\"label\":\"" + filler + "\\ud800\"}]",
            "[{\"id\":\"t\",\"type\":\"tab\",\"label\":\"" + filler + "\",\"label\":\"again\"}]",
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/red/flows") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("Node-RED-Deployment-Type", "full");
            using var response = await admin.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        }
        using var ok = new HttpRequestMessage(HttpMethod.Post, "/red/flows")
        {
            Content = new StringContent("[{\"id\":\"t\",\"type\":\"tab\",\"label\":\"" + filler + "\"}]", Encoding.UTF8, "application/json"),
        };
        ok.Headers.Add("Node-RED-Deployment-Type", "full");
        using var deployed = await admin.SendAsync(ok);
        Assert.True(deployed.IsSuccessStatusCode, $"{deployed.StatusCode}: {await deployed.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task Mutated_admin_requests_never_get_a_server_error()
    {
        await using var server = await ServerFixture.StartAsync();
        using var admin = await server.AdminAsync();
        var random = new Random(1313);
        var requests = new List<(string Method, string Path, string Body, string? DeployType)>();
        foreach (var (method, path, body) in s_templates)
        {
            foreach (var mutated in Mutations(JsonNode.Parse(body)!, random))
            {
                requests.Add((method, path, mutated, null));
            }
            foreach (var raw in new[] { "", "{", "1", "\"s\"", "null", "[]", "[1,2]", "{\"flows\":1}", "\u00ff\u00fe", "{\"id\":\"\\ud800\",\"state\":\"\\udc00\"}", "[{\"id\":\"\\ud800\",\"type\":\"tab\"}]" })
            {
                requests.Add((method, path, raw, null));
            }
        }
        foreach (var type in new[] { "reload", "bogus", "nodes", "flows", "" })
        {
            requests.Add(("POST", "/red/flows", s_templates[0].Body, type));
        }
        requests.AddRange(s_routes.Select(r => (r.Method, r.Path, "{}", (string?)null)));

        var failures = new List<string>();
        foreach (var (method, path, body, deployType) in requests)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            if (deployType is not null)
            {
                request.Headers.Add("Node-RED-Deployment-Type", deployType);
            }
            if (random.Next(3) == 0)
            {
                request.Headers.Add("Node-RED-API-Version", "v2");
            }
            using var response = await admin.SendAsync(request);
            if ((int)response.StatusCode >= 500)
            {
                failures.Add($"{(int)response.StatusCode} {method} {path} {Shorten(body)}");
            }
        }
        Assert.True(requests.Count >= 300, $"only {requests.Count} requests");
        Assert.True(failures.Count == 0, $"{failures.Count} of {requests.Count} got 5xx:\n" + string.Join("\n", failures.Take(40)));
        Assert.Equal("ok", JsonNode.Parse(await server.Client.GetStringAsync("/healthz"))!["status"]!.GetValue<string>());
    }

    /// <summary>Each field (top level, and of each object in a top-level or <c>flows</c>/<c>nodes</c> array) replaced by a few variants.</summary>
    private static IEnumerable<string> Mutations(JsonNode template, Random random)
    {
        var targets = new List<JsonObject>();
        if (template is JsonObject top)
        {
            targets.Add(top);
            targets.AddRange((top["flows"] as JsonArray ?? top["nodes"] as JsonArray ?? []).OfType<JsonObject>());
        }
        else if (template is JsonArray items)
        {
            targets.AddRange(items.OfType<JsonObject>());
        }
        for (var t = 0; t < targets.Count; t++)
        {
            foreach (var key in targets[t].Select(kv => kv.Key).ToList())
            {
                // Four variants per field, chosen by the seed.
                foreach (var variant in s_variants.OrderBy(_ => random.Next()).Take(4))
                {
                    var copy = template.DeepClone();
                    var target = template is JsonObject ? (t == 0 ? (JsonObject)copy : ((copy["flows"] ?? copy["nodes"])!.AsArray()[t - 1]!.AsObject())) : copy.AsArray().OfType<JsonObject>().ElementAt(t);
                    target[key] = JsonNode.Parse(variant);
                    yield return copy.ToJsonString();
                }
            }
        }
    }

    private static string Shorten(string s) => s.Length > 160 ? s[..160] + "…" : s;
}
