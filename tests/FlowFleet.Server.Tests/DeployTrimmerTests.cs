using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;

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

    [Fact]
    public async Task A_large_deploy_and_the_deploy_that_replaces_it_give_memory_back_and_small_ones_do_not()
    {
        await using var server = await ServerFixture.StartAsync(noAuth: false, dataDir: null, "--Flows:TrimAfterDeployNodes", "50");
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

        var metrics = await admin.GetStringAsync("/metrics");
        Assert.Matches(@"flowfleet_memory_trims_total [1-9]", metrics);
    }
}
