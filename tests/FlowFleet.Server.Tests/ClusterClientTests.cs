using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Cluster;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>
/// Two servers joined by <c>Cluster:Nats</c> through a real nats-server: a device connected to A is live for /client
/// subscribers on B (FlowFleet's protocol and fleet manager's), relayed RPC from B reaches it, and B's /healthz shows the
/// cluster.
/// </summary>
public sealed class ClusterClientTests
{
    [Fact]
    public async Task Status_of_a_device_on_A_reaches_client_subscribers_on_B_with_its_instance()
    {
        await using var nats = await NatsServer.StartAsync();
        var subject = "ff" + Guid.NewGuid().ToString("N")[..6];
        string[] Args(string name) => ["--Fleet:Admission", "auto", "--Cluster:Nats", nats.Url, "--Cluster:Instance", name, "--Cluster:Subject", subject, "--Cluster:Heartbeat", "00:00:01"];
        await using var a = await ServerFixture.StartAsync(extraArgs: Args("a"));
        await using var b = await ServerFixture.StartAsync(extraArgs: Args("b"));
        await a.App.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(10));
        await b.App.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(10));

        var token = await b.TokenAsync();
        await using var ours = await FmClient.ConnectAsync(b, token, "/client");
        await ours.SendAsync("""{"jsonrpc":"2.0","id":1,"method":"Events.Subscribe","params":{"events":["Shelly.Status","Shelly.Presence"]}}""");
        await ours.WaitAsync(f => f["id"]?.GetValue<int>() == 1, "subscribed on /client");
        await using var fm = await FmClient.ConnectAsync(b, token);
        await fm.CallAsync(1, "FleetManager.Subscribe", """{"events":["Shelly.Status","Shelly.Presence"]}""");

        await using var fleet = new SimFleet(a.ShellyUrl, 1, "plus1pm", FleetApiTests.FastSim);
        var id = fleet.Devices.Single().Id;
        await fleet.StartAsync();
        var online = (await ours.WaitAsync(f => FmClient.IsEvent(f, "Shelly.Presence", id) && f["params"]!["online"]!.GetValue<bool>(), "presence online on B's /client"))[0];
        Assert.Equal("a", online["params"]!["instance"]!.GetValue<string>());
        var fmOnline = (await fm.WaitAsync(f => FmClient.IsEvent(f, "Shelly.Presence", id) && f["params"]!["presence"]!.GetValue<string>() == "online", "presence online for FM on B"))[0];
        Assert.Equal("a", fmOnline["params"]!["instance"]!.GetValue<string>());

        // A relay through B's /client reaches the device on A; its status change comes back to B's subscribers from A.
        await ours.SendAsync($$$"""{"id":"relay-1","src":"ui","dst":"{{{id}}}","method":"Switch.Set","params":{"id":0,"on":true}}""");
        var relay = (await ours.WaitAsync(f => f["id"]?.ToJsonString() == "\"relay-1\"", "relay answer"))[0];
        Assert.True(relay["result"] is not null, relay.ToJsonString());
        Assert.False(relay["result"]!["was_on"]!.GetValue<bool>());
        static bool On(JsonNode? status) => status?["switch:0"]?["output"]?.GetValue<bool>() == true;
        var status = (await ours.WaitAsync(f => FmClient.IsEvent(f, "Shelly.Status", id) && On(f["params"]!["status"]), "status on B's /client"))[0];
        Assert.Equal("a", status["params"]!["instance"]!.GetValue<string>());
        await fm.WaitAsync(f => FmClient.IsEvent(f, "Shelly.Status", id) && On(f["params"]!["status"]), "whole status for FM on B");

        // B's health names the cluster as B sees it: itself, A holding the device.
        using var http = new HttpClient { BaseAddress = b.BaseUri };
        JsonObject? cluster = null;
        await Poll.UntilAsync(async () =>
        {
            cluster = (await http.GetFromJsonAsync<JsonObject>("/healthz"))!["cluster"]!.AsObject();
            return cluster["members"]!.AsArray().Any(m => m!["instance"]!.GetValue<string>() == "a" && m["devices"]!.GetValue<int>() == 1);
        }, "B's /healthz shows A holding one device");
        Assert.Equal(("b", true, 0, 1), (cluster!["instance"]!.GetValue<string>(), cluster["connected"]!.GetValue<bool>(),
            cluster["devicesOwned"]!.GetValue<int>(), cluster["devicesRemote"]!.GetValue<int>()));
        Assert.Equal(1, (await a.Client.GetFromJsonAsync<JsonObject>("/healthz"))!["cluster"]!["devicesOwned"]!.GetValue<int>());

        // /metrics on each instance: its members, devices held here and elsewhere, device messages across, by instance.
        using var metricsB = b.Authorized(token);
        var scrapeB = await Ops.Scrape.GetAsync(metricsB);
        Assert.Equal(2, scrapeB.Value("flowfleet_cluster_members", "instance=b"));
        Assert.Equal((0, 1), (scrapeB.Value("flowfleet_cluster_devices_owned", "instance=b"), scrapeB.Value("flowfleet_cluster_devices_remote", "instance=b")));
        Assert.True(scrapeB.Value("flowfleet_cluster_messages_received_total", "instance=b") >= 2, scrapeB.Text);
        using var metricsA = a.Authorized(await a.TokenAsync());
        var scrapeA = await Ops.Scrape.GetAsync(metricsA);
        Assert.Equal((1, 1), (scrapeA.Value("flowfleet_cluster_devices_owned", "instance=a"), scrapeA.Value("flowfleet_cluster_connected", "instance=a")));
    }

    [Fact]
    public async Task A_single_server_has_no_cluster_in_its_health()
    {
        await using var s = await ServerFixture.StartAsync();
        var health = await s.Client.GetFromJsonAsync<JsonObject>("/healthz");
        Assert.Equal("ok", health!["status"]!.GetValue<string>());
        Assert.False(health.ContainsKey("cluster"));
        Assert.Null(s.App.Services.GetService<NatsCluster>());
    }
}
