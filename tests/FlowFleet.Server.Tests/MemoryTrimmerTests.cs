using FlowFleet.Server.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowFleet.Server.Tests;

public sealed class MemoryTrimmerTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void Trims_only_a_steady_fleet_whose_gc_holds_much_more_than_is_live_or_that_changed_since()
    {
        int[] steady = [18_400, 19_050, 19_100, 18_700, 19_100, 18_990];
        Assert.True(MemoryTrimmer.ShouldTrim(steady, 600 * MiB, 250 * MiB));
        // Still connecting: wait.
        Assert.False(MemoryTrimmer.ShouldTrim([12_000, 14_000, 16_000, 17_500, 18_600, 19_100], 600 * MiB, 250 * MiB));
        // Not enough history yet.
        Assert.False(MemoryTrimmer.ShouldTrim(steady[..3], 600 * MiB, 250 * MiB));
        // Nothing much to give back, and the fleet is the one of the last trim.
        Assert.False(MemoryTrimmer.ShouldTrim(steady, 300 * MiB, 250 * MiB, lastTrimmedAt: 18_900));
        // A fleet that grew since the last trim (a connect storm): the C library's heap grew with it.
        Assert.True(MemoryTrimmer.ShouldTrim(steady, 300 * MiB, 250 * MiB, lastTrimmedAt: 9_000));
        Assert.False(MemoryTrimmer.ShouldTrim([0, 0, 0, 0, 0, 0], 600 * MiB, 100 * MiB));
    }

    /// <summary>The storm trimmer on a fake clock, reading fake connection counts and GC sizes; each step is one sample.</summary>
    private sealed class Driver(SignalingClock clock, MemoryTrimmer trimmer)
    {
        public MemoryTrimmer.Reading Now;

        public async Task<bool> SampleAsync(int connections, long committedMiB, long heapMiB, long gen2MiB)
        {
            Now = new(connections, committedMiB * MiB, heapMiB * MiB, gen2MiB * MiB);
            var sampled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var subscription = trimmer.Sampled.Subscribe(trimmed => sampled.TrySetResult(trimmed));
            clock.Advance(MemoryTrimmer.Every);
            return await sampled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static async Task<(Driver Driver, MemoryTrimmer Trimmer, TrimLedger Ledger)> StartAsync()
    {
        var clock = new SignalingClock();
        var ledger = new TrimLedger();
        Driver? driver = null;
        var trimmer = new MemoryTrimmer(ledger, () => driver!.Now, NullLogger<MemoryTrimmer>.Instance, clock);
        driver = new Driver(clock, trimmer);
        await trimmer.StartAsync(CancellationToken.None);
        await clock.TimerCreated.WaitAsync(TimeSpan.FromSeconds(30));
        return (driver, trimmer, ledger);
    }

    [Fact]
    public async Task A_steady_fleet_whose_gen_2_grew_after_the_storm_trim_is_trimmed_once_more()
    {
        var (driver, trimmer, ledger) = await StartAsync();
        using var stop = trimmer;
        // The storm: still connecting, then steady for the window with much more committed than live: the first trim.
        foreach (var n in new[] { 4_000, 9_000, 14_000, 17_000, 18_900, 18_900, 18_900, 18_900, 18_900 })
        {
            Assert.False(await driver.SampleAsync(n, 600, 250, 150));
        }
        Assert.True(await driver.SampleAsync(18_900, 600, 250, 150));
        Assert.Equal(1, ledger.Trims);
        // The storm's tail lands in gen 2 while the count holds still: not before the fleet was steady for 30 s since the trim.
        Assert.False(await driver.SampleAsync(18_900, 400, 300, 240));
        Assert.False(await driver.SampleAsync(18_900, 420, 320, 260));
        for (var i = 0; i < 3; i++)
        {
            Assert.False(await driver.SampleAsync(18_900, 440, 330, 270));
        }
        Assert.True(await driver.SampleAsync(18_900, 440, 330, 270));
        Assert.Equal(2, ledger.Trims);
        // One follow-up per ten minutes: more growth now waits for the usual rule.
        for (var i = 0; i < 10; i++)
        {
            Assert.False(await driver.SampleAsync(18_900, 600, 400, 400));
        }
        Assert.Equal(2, ledger.Trims);
        await trimmer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_steady_fleet_whose_gen_2_grew_little_or_that_is_still_moving_is_not_trimmed_again()
    {
        var (driver, trimmer, ledger) = await StartAsync();
        using var stop = trimmer;
        for (var i = 0; i < 6; i++)
        {
            await driver.SampleAsync(10_000, 500, 200, 120);
        }
        Assert.Equal(1, ledger.Trims);
        // 40 MiB more in gen 2: not worth a pause.
        for (var i = 0; i < 8; i++)
        {
            Assert.False(await driver.SampleAsync(10_000, 300, 200, 160));
        }
        // Much more, but the count is moving (devices coming and going by more than 5 %): wait.
        foreach (var n in new[] { 11_500, 10_000, 11_500, 10_000, 11_500, 10_000 })
        {
            Assert.False(await driver.SampleAsync(n, 400, 300, 260));
        }
        Assert.Equal(1, ledger.Trims);
        await trimmer.StopAsync(CancellationToken.None);
    }
}

public sealed class ProcessTuningTests
{
    [Fact]
    public void The_arena_cap_is_set_in_process_unless_the_environment_sets_it()
    {
        Assert.True(OperatingSystem.IsLinux(), "the server's tuning is for Linux, where the tests run");
        Assert.Equal(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX")), NativeHeap.LimitArenas());
        Assert.True(NativeHeap.Trim());
    }

    [Fact]
    public async Task The_server_starts_once_without_restarting_itself()
    {
        var data = Directory.CreateTempSubdirectory("flowfleet-tuning-").FullName;
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "flowfleet.dll"), "--data", data, "--no-auth", "--urls", "http://127.0.0.1:0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("DOTNET_GCgen0size");
        start.Environment.Remove("MALLOC_ARENA_MAX");
        using var server = System.Diagnostics.Process.Start(start)!;
        try
        {
            // Once it serves, its environment is still the one it was started with: it did not execve itself with more.
            string? line;
            while ((line = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60))) is not null && !line.Contains("Now listening", StringComparison.Ordinal))
            {
            }
            Assert.NotNull(line);
            var environment = (await File.ReadAllTextAsync($"/proc/{server.Id}/environ")).Split('\0');
            Assert.DoesNotContain(environment, e => e.StartsWith("MALLOC_ARENA_MAX=", StringComparison.Ordinal) || e.StartsWith("DOTNET_GCgen0size=", StringComparison.Ordinal));
            Assert.False(server.HasExited);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }
}

public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData("--Flows:QueueCapacity", "0", "Flows:QueueCapacity must be at least 1")]
    [InlineData("--Flows:Scripts:Timeout", "-00:00:01", "Flows:Scripts:Timeout must be a positive time span")]
    [InlineData("--Fleet:Admission", "sometimes", "Fleet:Admission must be manual or auto, got 'sometimes'")]
    [InlineData("--Fleet:RpcTimeout", "00:00:00", "Fleet:RpcTimeout must be a positive time span")]
    [InlineData("--Auth:Login:AddressRefill", "00:00:00", "Auth:Login:AddressRefill must be a positive time span (e.g. 00:00:30), got 00:00:00")]
    [InlineData("--Auth:Login:MaxDelay", "00:00:00.5", "Auth:Login:MaxDelay (00:00:00.5000000) must not be shorter than Auth:Login:FirstDelay (00:00:01)")]
    [InlineData("--Flows:History:MaxCount", "-1", "Flows:History:MaxCount must be 0 (no count limit) or more, got -1")]
    public async Task A_bad_setting_stops_the_start_with_a_message_naming_it(string key, string value, string message)
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => ServerFixture.StartAsync(noAuth: true, dataDir: null, key, value));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_command_lists_bad_settings_and_exits_with_2_instead_of_a_stack_trace()
    {
        var data = Directory.CreateTempSubdirectory("ff-settings-").FullName;
        string[] args = ["--data", data, "--urls", "http://127.0.0.1:0", "--Fleet:Admission", "sometimes", "--Flows:History:MaxAge", "-1.00:00:00"];
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await FlowFleet.Server.Cli.CliCommands.Build(args, output, error).Parse(args).InvokeAsync();
        Assert.Equal(2, code);
        var text = error.ToString();
        Assert.StartsWith("FlowFleet did not start: invalid settings", text, StringComparison.Ordinal);
        Assert.Contains("Fleet:Admission must be manual or auto, got 'sometimes'", text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
    }
}
