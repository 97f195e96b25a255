using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests.Ops;

/// <summary><c>/metrics</c> scraped like Prometheus does, before and after real actions: the values must move with them.</summary>
public sealed class MetricsTests
{
    private static readonly JsonArray Flow = JsonNode.Parse("""
        [{"id":"t","type":"tab","label":"m"},
         {"id":"in","type":"inject","z":"t","x":1,"y":1,"wires":[["fn"]],"repeat":"","payloadType":"date"},
         {"id":"fn","type":"function","z":"t","x":1,"y":1,"func":"return msg;","outputs":1,"wires":[["d"]]},
         {"id":"d","type":"debug","z":"t","x":1,"y":1,"wires":[]}]
        """)!.AsArray();

    [Fact]
    public async Task A_deploy_and_messages_flowing_move_the_engine_metrics()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        var before = await Scrape.GetAsync(admin);
        Assert.Equal(0, before.Value("flowfleet_nodes"));

        (await admin.PostAsJsonAsync("/red/flows", Flow)).EnsureSuccessStatusCode();
        var deployed = await Scrape.GetAsync(admin);
        Assert.Equal(3, deployed.Value("flowfleet_nodes"));
        Assert.Equal(1, deployed.Value("flowfleet_flows_started"));
        Assert.Equal(before.Value("flowfleet_deploys_total", "type=full") + 1, deployed.Value("flowfleet_deploys_total", "type=full"));
        Assert.Equal("counter", deployed.TypeOf("flowfleet_deploys_total"));

        // The debug node publishes after the engine counted the message in: three debug messages, three counted everywhere.
        var debugged = 0;
        var three = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sub = s.App.Services.GetRequiredService<FlowEvents>().Debug.Subscribe(_ =>
        {
            if (Interlocked.Increment(ref debugged) == 3)
            {
                three.TrySetResult();
            }
        });
        for (var i = 0; i < 3; i++)
        {
            (await admin.PostAsync("/red/inject/in", null)).EnsureSuccessStatusCode();
        }
        await three.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var flowed = await Scrape.GetAsync(admin);
        Assert.Equal(3, flowed.Value("flowfleet_messages_out_total", "type=inject"));
        Assert.Equal(3, flowed.Value("flowfleet_messages_in_total", "type=function"));
        Assert.Equal(3, flowed.Value("flowfleet_messages_out_total", "type=function"));
        Assert.Equal(3, flowed.Value("flowfleet_messages_in_total", "type=debug"));
        Assert.Equal("counter", flowed.TypeOf("flowfleet_messages_in_total"));
        Assert.Equal(0, flowed.Value("flowfleet_node_errors_total", "type=function"));

        // A script that throws is counted as an error of its type.
        var failing = Flow.DeepClone().AsArray();
        failing[2]!["func"] = "throw new Error('boom');";
        (await admin.PostAsJsonAsync("/red/flows", failing)).EnsureSuccessStatusCode();
        (await admin.PostAsync("/red/inject/in", null)).EnsureSuccessStatusCode();
        await Poll.UntilAsync(async () => (await Scrape.GetAsync(admin)).Value("flowfleet_node_errors_total", "type=function") == 1, "the error counted");

        // Stopping the flows shows at once.
        (await admin.PostAsJsonAsync("/red/flows/state", new { state = "stop" })).EnsureSuccessStatusCode();
        var stopped = await Scrape.GetAsync(admin);
        Assert.Equal(0, stopped.Value("flowfleet_flows_started"));
        Assert.Equal(0, stopped.Value("flowfleet_nodes"));
    }

    [Fact]
    public async Task A_device_connecting_and_reporting_moves_the_fleet_metrics()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        using var admin = await s.AdminAsync();
        var before = await Scrape.GetAsync(admin);
        Assert.Equal(0, before.Value("flowfleet_devices_online"));
        Assert.Equal(0, before.Value("flowfleet_device_sessions_total"));
        Assert.Equal(0, before.Value("flowfleet_devices"));

        await using var fleet = new SimFleet(s.ShellyUrl, 2, "plus1pm", FleetApiTests.FastSim);
        await fleet.StartAsync();
        await FleetApiTests.WaitOnline(s, 2);
        var online = await Scrape.GetAsync(admin);
        Assert.Equal(2, online.Value("flowfleet_devices_online"));
        Assert.Equal(2, online.Value("flowfleet_device_connections"));
        Assert.Equal(2, online.Value("flowfleet_device_sessions_total"));
        Assert.Equal(2, online.Value("flowfleet_devices"));
        Assert.Equal(0, online.Value("flowfleet_devices_pending"));

        // The simulator reports every 300 ms: notifications keep counting.
        var notified = online.Value("flowfleet_device_notifications_total");
        await Poll.UntilAsync(async () => (await Scrape.GetAsync(admin)).Value("flowfleet_device_notifications_total") > notified, "more notifications");

        // Each connection logged a "connect" event; the background writer (every second) stores them and counts them written.
        await Poll.UntilAsync(async () => (await Scrape.GetAsync(admin)).Value("flowfleet_registry_rows_written_total", "kind=events") >= 2, "the connect events written");
        var written = await Scrape.GetAsync(admin);
        Assert.Equal("counter", written.TypeOf("flowfleet_registry_rows_written_total"));
        var events = await admin.GetFromJsonAsync<JsonArray>("/api/devices/shellyplus1pm-c0ffee000000/events");
        Assert.Contains(events!, e => e!["kind"]!.GetValue<string>() == "connect");

        // A device going away shows as one fewer online; its session count stays.
        await fleet.Connections[0].DisposeAsync();
        await Poll.UntilAsync(async () => (await Scrape.GetAsync(admin)).Value("flowfleet_devices_online") == 1, "one device online");
        Assert.Equal(2, (await Scrape.GetAsync(admin)).Value("flowfleet_devices"));
    }

    [Fact]
    public async Task Each_server_in_a_process_exports_only_its_own_instruments()
    {
        await using var a = await ServerFixture.StartAsync();
        await using var b = await ServerFixture.StartAsync();
        using var adminA = await a.AdminAsync();
        using var adminB = await b.AdminAsync();
        (await adminA.PostAsJsonAsync("/red/flows", Flow)).EnsureSuccessStatusCode();

        Assert.Equal(3, (await Scrape.GetAsync(adminA)).Value("flowfleet_nodes"));
        var other = await Scrape.GetAsync(adminB);
        Assert.Equal(0, other.Value("flowfleet_nodes"));
        // The runtime's process-wide figures are there too, under the runtime's names.
        Assert.True(other.Value("dotnet_process_memory_working_set_bytes") > 0);
        Assert.Equal("counter", other.TypeOf("dotnet_gc_collections_total"));
    }

    [Fact]
    public async Task The_metrics_are_built_by_the_first_scrape_and_lose_nothing_that_came_before()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        (await admin.PostAsJsonAsync("/red/flows", Flow)).EnsureSuccessStatusCode();
        (await admin.PostAsync("/red/inject/in", null)).EnsureSuccessStatusCode();

        // This server's instruments, as a listener sees them published (without enabling them): nothing listens to them
        // yet — the start built no meter provider (it cost ~25 ms of a start's CPU).
        var own = s.App.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var instruments = new List<System.Diagnostics.Metrics.Instrument>();
        using (var seen = new System.Diagnostics.Metrics.MeterListener())
        {
            seen.InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, own))
                {
                    lock (instruments)
                    {
                        instruments.Add(instrument);
                    }
                }
            };
            seen.Start();
        }
        var nodes = Assert.Single(instruments, i => i.Name == "flowfleet.nodes");
        Assert.False(nodes.Enabled);

        // The first scrape builds it, and what happened before is there: the instruments are read at the scrape.
        var first = await Scrape.GetAsync(admin);
        Assert.True(nodes.Enabled);
        Assert.Equal(3, first.Value("flowfleet_nodes"));
        // The start's deploy of the stored (empty) flows and this test's.
        Assert.Equal(2, first.Value("flowfleet_deploys_total", "type=full"));
        await Poll.UntilAsync(async () => (await Scrape.GetAsync(admin)).Value("flowfleet_messages_out_total", "type=inject") == 1, "the message sent before the first scrape counted");
    }
}
