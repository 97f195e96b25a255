using FlowFleet.Server.Hosting;

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
