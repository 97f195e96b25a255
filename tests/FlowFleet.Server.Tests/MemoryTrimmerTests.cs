using FlowFleet.Server.Hosting;

namespace FlowFleet.Server.Tests;

public sealed class MemoryTrimmerTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void Trims_only_a_steady_fleet_whose_gc_holds_much_more_than_is_live()
    {
        int[] steady = [18_400, 19_050, 19_100, 18_700, 19_100, 18_990];
        Assert.True(MemoryTrimmer.ShouldTrim(steady, 600 * MiB, 250 * MiB));
        // Still connecting: wait.
        Assert.False(MemoryTrimmer.ShouldTrim([12_000, 14_000, 16_000, 17_500, 18_600, 19_100], 600 * MiB, 250 * MiB));
        // Not enough history yet.
        Assert.False(MemoryTrimmer.ShouldTrim(steady[..3], 600 * MiB, 250 * MiB));
        // Nothing much to give back.
        Assert.False(MemoryTrimmer.ShouldTrim(steady, 300 * MiB, 250 * MiB));
        Assert.False(MemoryTrimmer.ShouldTrim([0, 0, 0, 0, 0, 0], 600 * MiB, 100 * MiB));
    }
}
