using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Server.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Server.Tests;

public sealed class DeployTrimmerTests
{
    private static JsonArray Flow(int nodes)
    {
        var flow = new JsonArray { new JsonObject { ["id"] = "t1", ["type"] = "tab", ["label"] = "Big" } };
        for (var i = 0; i < nodes; i++)
        {
            flow.Add(new JsonObject { ["id"] = $"c{i}", ["type"] = "comment", ["z"] = "t1", ["name"] = $"note {i}", ["x"] = 100, ["y"] = 40 + i, ["wires"] = new JsonArray() });
        }
        return flow;
    }

    private static JsonArray Injects(int nodes)
    {
        var flow = new JsonArray { new JsonObject { ["id"] = "t1", ["type"] = "tab", ["label"] = "Big" } };
        for (var i = 0; i < nodes; i++)
        {
            flow.Add(new JsonObject { ["id"] = $"i{i}", ["type"] = "inject", ["z"] = "t1", ["payload"] = $"{i}", ["payloadType"] = "str", ["x"] = 100, ["y"] = 40 + i, ["wires"] = new JsonArray() });
        }
        return flow;
    }

    // Not inlined, so no reference to a node outlives this frame on the test's own stack.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<WeakReference> Track(FlowEngine engine, int nodes) =>
        Enumerable.Range(0, nodes).Select(i => new WeakReference(engine.GetNode($"i{i}") ?? throw new InvalidOperationException($"i{i} not running"))).ToList();

    private static async Task WaitForTrimsAsync(DeployTrimmer trimmer, long count)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = trimmer.Trimmed.Subscribe(n => { if (n >= count) { done.TrySetResult(); } });
        if (trimmer.Trims < count)
        {
            await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task The_trim_after_a_large_set_is_replaced_by_an_empty_one_collects_the_old_nodes()
    {
        var clock = new SignalingClock();
        await using var server = await ServerFixture.StartAsync(
            s => s.AddSingleton(sp => new DeployTrimmer(sp.GetRequiredService<TrimLedger>(), sp.GetRequiredService<FlowEngine>(), sp.GetRequiredService<IConfiguration>(),
                sp.GetRequiredService<ILogger<DeployTrimmer>>(), clock)),
            noAuth: false, dataDir: null, "--Flows:TrimAfterDeployNodes", "50");
        var engine = server.App.Services.GetRequiredService<FlowEngine>();
        var trimmer = server.App.Services.GetRequiredService<DeployTrimmer>();
        using var admin = await server.AdminAsync();

        (await admin.PostAsJsonAsync("/red/flows", Injects(60))).EnsureSuccessStatusCode();
        await Task.WhenAny(clock.TimerCreated, WaitForTrimsAsync(trimmer, 1));
        clock.Advance(trimmer.Delay);
        await WaitForTrimsAsync(trimmer, 1);
        var old = Track(engine, 60);

        // A subscriber that stands for the rest of a deploy (saving the file, the history, the request's parsed body): the
        // deploy goes on only once the trim has run or is waiting for its quiet time. A trim that ran at this point found
        // the replaced nodes still referenced by the deploy, kept them, and nothing collected them afterwards.
        clock.Reset();
        var trimmedOrWaiting = Task.WhenAny(clock.TimerCreated, WaitForTrimsAsync(trimmer, 2));
        using (engine.Events.Deployed.Subscribe(_ => trimmedOrWaiting.Wait(TimeSpan.FromSeconds(30))))
        {
            (await admin.PostAsJsonAsync("/red/flows", new JsonArray())).EnsureSuccessStatusCode();
        }
        Assert.True(trimmedOrWaiting.IsCompleted);
        clock.Advance(trimmer.Delay);
        await WaitForTrimsAsync(trimmer, 2);

        // No forced collection here: the trim's own collection must have freed them. (With --Flows:TrimDelay 00:00:00,
        // i.e. trimming at once as before, all 60 stay alive.)
        Assert.Equal(0, old.Count(w => w.IsAlive));
    }

    [Fact]
    public async Task The_trim_comes_its_delay_after_the_last_of_several_large_deploys_not_a_whole_new_delay_later()
    {
        var clock = new SignalingClock();
        await using var server = await ServerFixture.StartAsync(
            s => s.AddSingleton(sp => new DeployTrimmer(sp.GetRequiredService<TrimLedger>(), sp.GetRequiredService<FlowEngine>(), sp.GetRequiredService<IConfiguration>(),
                sp.GetRequiredService<ILogger<DeployTrimmer>>(), clock)),
            noAuth: false, dataDir: null, "--Flows:TrimAfterDeployNodes", "50");
        var trimmer = server.App.Services.GetRequiredService<DeployTrimmer>();
        using var admin = await server.AdminAsync();
        var half = trimmer.Delay / 2;

        (await admin.PostAsJsonAsync("/red/flows", Flow(60))).EnsureSuccessStatusCode();
        await clock.TimerCreated;
        clock.Advance(half);
        // A second large deploy half-way through the wait (deploy.sh sends ten back to back).
        (await admin.PostAsJsonAsync("/red/flows", Flow(70))).EnsureSuccessStatusCode();
        clock.Reset();
        clock.Advance(half);
        // The first wait is over, but the second deploy is only half a delay old: the trimmer waits for the rest of it.
        await clock.TimerCreated.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, trimmer.Trims);
        clock.Advance(half);
        await WaitForTrimsAsync(trimmer, 1);
        Assert.Equal(1, trimmer.Trims);
    }

    [Fact]
    public async Task A_large_deploy_and_the_deploy_that_replaces_it_give_memory_back_and_small_ones_do_not()
    {
        await using var server = await ServerFixture.StartAsync(noAuth: false, dataDir: null, "--Flows:TrimAfterDeployNodes", "50", "--Flows:TrimDelay", "00:00:00.010");
        var trimmer = server.App.Services.GetRequiredService<DeployTrimmer>();
        using var admin = await server.AdminAsync();
        var trimmed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = trimmer.Trimmed.Subscribe(n => trimmed.TrySetResult(n));

        (await admin.PostAsJsonAsync("/red/flows", Flow(60))).EnsureSuccessStatusCode();
        Assert.Equal(1, trimmer.Requested);
        Assert.True(await trimmed.Task.WaitAsync(TimeSpan.FromSeconds(30)) >= 1);

        // Replacing the large set frees it: that deploy trims too.
        (await admin.PostAsJsonAsync("/red/flows", Flow(10))).EnsureSuccessStatusCode();
        Assert.Equal(2, trimmer.Requested);
        // Small replacing small: the decision is made while the deploy runs, so no wait is needed to see it was not asked.
        (await admin.PostAsJsonAsync("/red/flows", Flow(5))).EnsureSuccessStatusCode();
        Assert.Equal(2, trimmer.Requested);

        // The second trim runs after its 10 ms quiet time: scraped before it, the metric would lag the count read after.
        await WaitForTrimsAsync(trimmer, 2);
        var metrics = await Ops.Scrape.GetAsync(admin);
        Assert.Equal(trimmer.Trims, metrics.Value("flowfleet_memory_trims_total"));
        Assert.True(metrics.Value("flowfleet_memory_trims_total") >= 1);
    }

    [Fact]
    public async Task A_flow_set_over_the_body_limit_gets_a_413_that_names_the_setting_and_the_limit_can_be_raised()
    {
        await using var small = await ServerFixture.StartAsync(noAuth: false, dataDir: null, "--Http:MaxRequestBodyBytes", "20000");
        using var admin = await small.AdminAsync();
        using var refused = await admin.PostAsJsonAsync("/red/flows", Flow(400));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        var body = await refused.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("Request body too large: the limit is 20000 bytes (setting Http:MaxRequestBodyBytes)", (string?)body!["message"]);
        (await admin.PostAsJsonAsync("/red/flows", Flow(20))).EnsureSuccessStatusCode();

        await using var large = await ServerFixture.StartAsync(noAuth: false, dataDir: null, "--Http:MaxRequestBodyBytes", "200000");
        using var admin2 = await large.AdminAsync();
        (await admin2.PostAsJsonAsync("/red/flows", Flow(400))).EnsureSuccessStatusCode();
    }
}
