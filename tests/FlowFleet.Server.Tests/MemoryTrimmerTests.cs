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
    public void Only_missing_settings_are_added_and_the_switch_turns_it_off()
    {
        Assert.Equal(["DOTNET_GCgen0size", "MALLOC_ARENA_MAX"], ProcessTuning.Missing(new Dictionary<string, string?>()).Keys.Order());
        Assert.Equal(["MALLOC_ARENA_MAX"], ProcessTuning.Missing(new Dictionary<string, string?> { ["DOTNET_GCgen0size"] = "0x2000000" }).Keys);
        Assert.Empty(ProcessTuning.Missing(new Dictionary<string, string?> { ["FLOWFLEET_TUNED"] = "1" }));
        Assert.Empty(ProcessTuning.Missing(new Dictionary<string, string?> { ["FLOWFLEET_NO_TUNING"] = "1" }));
    }

    [Fact]
    public void The_command_line_comes_back_argument_for_argument()
    {
        Assert.Equal(["dotnet", "flowfleet.dll", "--name", ""], ProcessTuning.Arguments("dotnet\0flowfleet.dll\0--name\0\0"));
        Assert.Equal(["dotnet", "a b"], ProcessTuning.Arguments("dotnet\0a b\0"));
    }

    [Fact]
    public async Task The_server_process_restarts_itself_in_place_with_them()
    {
        Assert.True(OperatingSystem.IsLinux(), "the server's tuning is for Linux, where the tests run");
        Assert.True(NativeHeap.Trim());
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
            // Same process id after execve; its environment is the one it was restarted with.
            string[] environment = [];
            for (var i = 0; i < 100 && !environment.Contains("FLOWFLEET_TUNED=1"); i++)
            {
                await Task.Delay(100);
                environment = (await File.ReadAllTextAsync($"/proc/{server.Id}/environ")).Split('\0');
            }
            Assert.Contains("MALLOC_ARENA_MAX=2", environment);
            Assert.Contains("DOTNET_GCgen0size=0x1000000", environment);
            Assert.False(server.HasExited);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }
}
