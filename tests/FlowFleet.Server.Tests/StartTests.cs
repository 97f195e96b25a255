using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Storage;
using FlowFleet.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FlowFleet.Server.Tests;

/// <summary>
/// The start as the command line runs it (warm-up on a second thread, the stored flows built once the server listens):
/// when <c>/healthz</c> answers, the admin API answers too.
/// </summary>
public sealed class StartTests
{
    [Fact]
    public async Task When_the_server_listens_health_login_and_the_stored_flows_answer_while_the_flows_are_built_after()
    {
        var dir = Directory.CreateTempSubdirectory("flowfleet-start-").FullName;
        await new FileFlowStorage(Path.Combine(dir, "flows.json")).SaveAsync((JsonArray)JsonNode.Parse(
            """[{"id":"t","type":"tab"},{"id":"i","type":"inject","z":"t","x":0,"y":0,"wires":[["d"]]},{"id":"d","type":"debug","z":"t","x":0,"y":0,"wires":[]}]""")!);
        var app = FlowFleetHost.Build(["--urls", "http://127.0.0.1:0", "--ADMIN_PASSWORD", ServerFixture.AdminPassword],
            new ServerOptions { DataDirectory = dir, PluginsDirectory = Path.Combine(dir, "no-plugins"), Console = TextWriter.Null, WarmUp = true });
        var flows = app.Services.GetRequiredService<FlowService>();
        var builtBeforeListening = true;
        var initializedBeforeListening = false;
        app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(() =>
        {
            builtBeforeListening = flows.Starting.IsCompleted;
            initializedBeforeListening = FlowFleetHost.InitializeAsync(app).IsCompletedSuccessfully;
        });
        try
        {
            // As the command line: no InitializeAsync awaited here — the host waits for the databases and the first admin
            // (begun by Build) before its hosted services start, so before it listens.
            await app.StartAsync();
            Assert.False(builtBeforeListening);
            Assert.True(initializedBeforeListening);
            // The route matcher was built by a request sent through the application in process while Kestrel bound.
            var server = Assert.IsType<WarmRequestServer>(app.Services.GetRequiredService<IServer>());
            await server.Warmed.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(200, server.WarmStatus);
            using var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };

            var health = (await client.GetFromJsonAsync<JsonObject>("/healthz"))!;
            Assert.Equal(["status", "flows", "safeMode", "rev"], health.Select(p => p.Key));
            Assert.Equal("ok", (string?)health["status"]);
            Assert.False(health["safeMode"]!.GetValue<bool>());
            Assert.Contains((string?)health["flows"], new[] { "starting", "started" });
            using var login = await client.PostAsync("/red/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["client_id"] = "node-red-admin", ["grant_type"] = "password", ["scope"] = "*", ["username"] = "admin", ["password"] = ServerFixture.AdminPassword,
            }));
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
            var token = (await login.Content.ReadFromJsonAsync<JsonObject>())!["access_token"]!.GetValue<string>();
            using var get = new HttpRequestMessage(HttpMethod.Get, "/red/flows");
            get.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var stored = await client.SendAsync(get);
            Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
            Assert.Contains("\"id\":\"d\"", await stored.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            // The editor's pages were built by the warm-up (not a 404 or an error while the hub is still being made).
            using var page = new HttpRequestMessage(HttpMethod.Get, "/");
            page.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var editor = await client.SendAsync(page);
            Assert.Equal(HttpStatusCode.OK, editor.StatusCode);
            Assert.Contains("blazor.web.js", await editor.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            var started = await flows.Starting.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(2, started!.Started);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
