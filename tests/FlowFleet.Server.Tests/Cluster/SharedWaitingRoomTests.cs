using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Cluster;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Tests;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests.Cluster;

/// <summary>
/// The waiting room shared by two instances (PostgreSQL and NATS, manual admission): devices waiting on A and connections
/// claiming an accepted device's id on A are listed through B's REST API, and accepting or denying them through B reaches
/// A, which holds the connection: the accepted device comes online there, the denied one is told to stop and closed, the
/// denied claimant is closed while the device keeps its connection. Enrollment tokens made through one are used on the other.
/// </summary>
public sealed class SharedWaitingRoomTests
{
    [Fact]
    public async Task Devices_and_claims_waiting_on_A_are_listed_and_decided_through_B()
    {
        await using var nats = await NatsServer.StartAsync();
        var connection = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        var subject = "ff" + Guid.NewGuid().ToString("N")[..6];
        string[] Args(string name) =>
        [
            "--Storage:Provider", "postgres", "--Storage:ConnectionString", connection, "--Fleet:Admission", "manual",
            "--Cluster:Nats", nats.Url, "--Cluster:Instance", name, "--Cluster:Subject", subject, "--Cluster:Heartbeat", "00:00:01",
        ];
        await using var a = await ServerFixture.StartAsync(extraArgs: Args("a"));
        await using var b = await ServerFixture.StartAsync(extraArgs: Args("b"));
        await a.App.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(10));
        await b.App.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(10));
        var hubA = a.App.Services.GetRequiredService<DeviceHub>();
        using var adminA = await a.AdminAsync();
        using var adminB = await b.AdminAsync();

        // Two new devices wait on A; B lists both, with what A read of them.
        await using var waiting = new SimFleet(a.ShellyUrl, 2, "plus1pm", FleetApiTests.FastSim);
        var ids = waiting.Devices.Select(d => d.Id).ToArray();
        var (accepted, denied) = (ids[0], ids[1]);
        await waiting.StartAsync();
        await Poll.UntilAsync(async () => (await PendingAsync(adminB)).Items.Count(d => (string?)d["model"] == "SNSW-001P16EU") == 2, "B lists both devices waiting on A");

        // Accepted through B: A, which holds the connection, admits it; B then mirrors it online, held by A.
        Assert.Equal(HttpStatusCode.OK, (await adminB.PostAsync($"/api/devices/{accepted}/accept", null)).StatusCode);
        await Poll.UntilAsync(() => hubA.IsOnline(accepted), "A admits the device accepted through B");
        await Poll.UntilAsync(async () => await DeviceAsync(adminB, accepted) is { } d && (bool?)d["online"] == true && (string?)d["admission"] == "accepted",
            "B shows the accepted device online");
        Assert.Equal("accepted", (string?)(await DeviceAsync(adminA, accepted))!["admission"]);

        // Denied through B: A tells it to stop and closes it; it waits nowhere any more.
        Assert.Equal(HttpStatusCode.OK, (await adminB.PostAsync($"/api/devices/{denied}/deny", null)).StatusCode);
        await Poll.UntilAsync(() => hubA.Session(denied) is null, "A closes the device denied through B");
        Assert.Equal("denied", (string?)(await DeviceAsync(adminA, denied))!["admission"]);
        await Poll.UntilAsync(async () => (await PendingAsync(adminB)).Items.Count == 0 && (await PendingAsync(adminA)).Items.Count == 0, "neither lists a waiting device");

        // Enrollment tokens are the cluster's: made through B, used by a device connecting to A (admitted at once), counted on A.
        var token = await (await adminB.PostAsJsonAsync("/api/enrollment-tokens", new { name = "site" })).Content.ReadFromJsonAsync<JsonObject>();
        await using var enrolled = new SimFleet(a.ShellyUrl + "?token=" + (string)token!["token"]!, 1, "plus1pm", FleetApiTests.FastSim, firstIndex: 5);
        var proven = enrolled.Devices.Single().Id;
        await enrolled.StartAsync();
        await Poll.UntilAsync(() => hubA.IsOnline(proven), "A admits the device with B's token");
        var tokensOnA = await adminA.GetFromJsonAsync<JsonArray>("/api/enrollment-tokens");
        Assert.Equal(1, (int)tokensOnA!.Single(t => (string?)t!["name"] == "site")!["uses"]!);

        // A connection claiming that device's id without its token waits on A as a claim; B lists it and denies it.
        await using var impostor = new SimFleet(a.ShellyUrl, 1, "plus1pm", FleetApiTests.FastSim, firstIndex: 5);
        await impostor.StartAsync();
        JsonObject? claim = null;
        await Poll.UntilAsync(async () => (claim = (await PendingAsync(adminB)).Claims.FirstOrDefault()) is not null, "B lists the claim held by A");
        Assert.Equal((proven, "a"), ((string?)claim!["id"], (string?)claim["instance"]));
        Assert.Equal(HttpStatusCode.NoContent, (await adminB.PostAsync($"/api/devices/claims/{(string)claim["key"]!}/deny", null)).StatusCode);
        await Poll.UntilAsync(() => hubA.Claims.Count == 0, "A closes the claimant denied through B");
        await Poll.UntilAsync(async () => (await PendingAsync(adminB)).Claims.Count == 0, "B no longer lists the claim");
        Assert.True(hubA.IsOnline(proven), "the device whose id was claimed keeps its connection");
        // A claim that is nowhere any more is a clear 404 through either instance.
        Assert.Equal(HttpStatusCode.NotFound, (await adminB.PostAsync($"/api/devices/claims/{(string)claim["key"]!}/accept", null)).StatusCode);
    }

    private static async Task<(List<JsonObject> Items, List<JsonObject> Claims)> PendingAsync(HttpClient client)
    {
        var pending = await client.GetFromJsonAsync<JsonObject>("/api/devices/pending");
        return ([.. pending!["items"]!.AsArray().OfType<JsonObject>()], [.. pending["claims"]!.AsArray().OfType<JsonObject>()]);
    }

    private static async Task<JsonObject?> DeviceAsync(HttpClient client, string id)
    {
        using var response = await client.GetAsync($"/api/devices/{id}");
        return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>() : null;
    }
}
