using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Server.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Server.Tests;

public sealed class IdleTrimmerTests
{
    private const long MiB = 1024 * 1024;

    /// <summary>The server's idle trimmer on a fake clock, reading a fake allocation counter; each step is one interval.</summary>
    private sealed class Driver(FakeTimeProvider clock, IdleTrimmer trimmer)
    {
        public long Allocated;

        /// <summary>Allocates <paramref name="bytes"/> during the next interval; true when the sample at its end trimmed.</summary>
        public async Task<bool> IntervalAsync(long bytes)
        {
            Interlocked.Add(ref Allocated, bytes);
            var sampled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var subscription = trimmer.Sampled.Subscribe(trimmed => sampled.TrySetResult(trimmed));
            clock.Advance(IdleTrimmer.Every);
            return await sampled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task Memory_is_given_back_when_the_process_goes_idle_after_a_burst_and_not_while_it_stays_busy()
    {
        var clock = new SignalingClock();
        Driver? driver = null;
        await using var server = await ServerFixture.StartAsync(
            s => s.AddSingleton(sp => new IdleTrimmer(sp.GetRequiredService<TrimLedger>(), sp.GetRequiredService<IConfiguration>(), sp.GetRequiredService<ILogger<IdleTrimmer>>(), clock,
                sp.GetService<IMeterFactory>(), () => Interlocked.Read(ref driver!.Allocated))),
            noAuth: false, dataDir: null, "--Memory:IdleTrimAtMostEvery", "00:00:05");
        var trimmer = server.App.Services.GetRequiredService<IdleTrimmer>();
        driver = new Driver(clock, trimmer);
        await clock.TimerCreated.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(await driver.IntervalAsync(0));

        // Busy: a burst over the threshold, spread over intervals that each allocate more than an idle process does.
        Assert.False(await driver.IntervalAsync(trimmer.BurstBytes / 2));
        Assert.False(await driver.IntervalAsync(trimmer.BurstBytes / 2 + 8 * MiB));
        Assert.Equal(0, trimmer.Trims);
        // The first idle interval after it trims, once.
        Assert.True(await driver.IntervalAsync(0));
        Assert.False(await driver.IntervalAsync(0));
        Assert.Equal(1, trimmer.Trims);
        using var admin = await server.AdminAsync();
        Assert.Equal(1, (await Ops.Scrape.GetAsync(admin)).Value("flowfleet_memory_idle_trims_total"));

        // Another burst and idle again, but soon after the last trim: it waits until the least time between trims has passed.
        // (The last trim was one interval ago: this burst is the 2nd second after it, the idle ones the 3rd and 4th.)
        Assert.False(await driver.IntervalAsync(trimmer.BurstBytes + 8 * MiB));
        Assert.False(await driver.IntervalAsync(0));
        Assert.False(await driver.IntervalAsync(0));
        Assert.Equal(1, trimmer.Trims);
        Assert.True(await driver.IntervalAsync(0));
        Assert.Equal(2, trimmer.Trims);

        // A steady load that never goes idle is never paused for a trim, however much it allocates; its first lull is.
        for (var i = 0; i < 5; i++)
        {
            Assert.False(await driver.IntervalAsync(trimmer.BurstBytes / 2));
        }
        Assert.True(await driver.IntervalAsync(0));

        // Little allocation, then idle: nothing to give back.
        Assert.False(await driver.IntervalAsync(trimmer.BurstBytes / 4));
        for (var i = 0; i < 4; i++)
        {
            Assert.False(await driver.IntervalAsync(0));
        }
        Assert.Equal(3, trimmer.Trims);
    }

    [Fact]
    public async Task After_a_large_deploy_only_the_deploy_trimmer_trims_and_the_idle_trimmer_counts_its_burst_from_that_trim()
    {
        var clock = new SignalingClock();
        Driver? driver = null;
        await using var server = await ServerFixture.StartAsync(
            s => s.AddSingleton(sp => new IdleTrimmer(sp.GetRequiredService<TrimLedger>(), sp.GetRequiredService<IConfiguration>(), sp.GetRequiredService<ILogger<IdleTrimmer>>(), clock,
                    sp.GetService<IMeterFactory>(), () => Interlocked.Read(ref driver!.Allocated)))
                .AddSingleton(sp => new DeployTrimmer(sp.GetRequiredService<TrimLedger>(), sp.GetRequiredService<FlowEngine>(), sp.GetRequiredService<IConfiguration>(),
                    sp.GetRequiredService<ILogger<DeployTrimmer>>(), clock)),
            noAuth: false, dataDir: null, "--Flows:TrimAfterDeployNodes", "50");
        var idle = server.App.Services.GetRequiredService<IdleTrimmer>();
        var deploys = server.App.Services.GetRequiredService<DeployTrimmer>();
        var ledger = server.App.Services.GetRequiredService<TrimLedger>();
        var deployTrimmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = deploys.Trimmed.Subscribe(_ => deployTrimmed.TrySetResult());
        driver = new Driver(clock, idle);
        await clock.TimerCreated.WaitAsync(TimeSpan.FromSeconds(30));
        using var admin = await server.AdminAsync();

        // A burst, then a large deploy (deploy.sh's pattern): the process goes idle while the deploy trimmer waits its delay.
        Assert.False(await driver.IntervalAsync(idle.BurstBytes + 8 * MiB));
        var flow = new JsonArray { new JsonObject { ["id"] = "t1", ["type"] = "tab", ["label"] = "Big" } };
        for (var i = 0; i < 60; i++)
        {
            flow.Add(new JsonObject { ["id"] = $"c{i}", ["type"] = "comment", ["z"] = "t1", ["x"] = 100, ["y"] = 40 + i, ["wires"] = new JsonArray() });
        }
        (await admin.PostAsJsonAsync("/red/flows", flow)).EnsureSuccessStatusCode();
        Assert.True(ledger.DeployTrimPending);
        // Idle seconds until the deploy trimmer's delay is over: the idle trimmer leaves it to that one (it used to trim at
        // the first of them, and the deploy trimmer again two seconds later).
        for (var waited = TimeSpan.Zero; waited < deploys.Delay; waited += IdleTrimmer.Every)
        {
            Assert.False(await driver.IntervalAsync(0));
        }
        await deployTrimmed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // The burst was given back by the deploy's trim: idle seconds after it trim nothing more.
        Assert.False(await driver.IntervalAsync(0));
        Assert.False(await driver.IntervalAsync(0));
        Assert.Equal((1L, 0L, 1L), (deploys.Trims, idle.Trims, ledger.Trims));
        Assert.False(ledger.DeployTrimPending);
    }
}
