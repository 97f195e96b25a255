using FlowFleet.Runtime.Engine;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Runtime.Tests.Engine;

/// <summary>The inline budget's rule on its own clock: strikes, the GC's pauses, the wait for a return.</summary>
public sealed class InlineGuardTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(100), Slow = TimeSpan.FromMilliseconds(250);

    [Fact]
    public void A_run_is_timed_net_of_the_gcs_pauses_during_it()
    {
        var clock = new FakeTimeProvider();
        var before = GC.GetTotalPauseDuration();
        var start = InlineGuard.Start(clock);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        var paused = GC.GetTotalPauseDuration() - before;
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.True(paused > TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(1) - paused, InlineGuard.Took(clock, start));
    }

    [Fact]
    public void On_the_system_clock_a_run_is_timed_in_the_right_unit()
    {
        // The system clock's path reads a coarse millisecond clock: a run of ~50 ms must read as tens of milliseconds,
        // not as ticks or seconds (a wrong unit would put every inline node over its budget, or none).
        var start = InlineGuard.Start(TimeProvider.System);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.ElapsedMilliseconds < 50)
        {
            Thread.SpinWait(1000);
        }
        var took = InlineGuard.Took(TimeProvider.System, start);
        Assert.InRange(took, TimeSpan.FromMilliseconds(30), TimeSpan.FromMilliseconds(50) + watch.Elapsed);
    }

    [Fact]
    public void A_run_that_was_all_gc_pause_took_nothing()
    {
        var clock = new FakeTimeProvider();
        var start = InlineGuard.Start(clock);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);

        Assert.Equal(TimeSpan.Zero, InlineGuard.Took(clock, start));
    }

    [Fact]
    public void A_slow_run_from_the_queue_restarts_the_wait_for_a_return()
    {
        var (clock, guard) = (new FakeTimeProvider(), new InlineGuard());
        Assert.False(guard.RanInline(clock, Slow, Budget));
        Assert.True(guard.RanInline(clock, Slow, Budget));
        Assert.True(guard.Off);

        clock.Advance(TimeSpan.FromSeconds(50));
        guard.RanFromQueue(clock, Slow, Budget);
        clock.Advance(TimeSpan.FromSeconds(20));
        guard.RanFromQueue(clock, Budget, Budget);
        Assert.False(guard.TryReturn(clock));
        Assert.True(guard.Off);

        clock.Advance(TimeSpan.FromSeconds(40));
        Assert.True(guard.TryReturn(clock));
        Assert.False(guard.Off);
    }

    [Fact]
    public void Strikes_a_minute_apart_never_take_a_node_off()
    {
        var (clock, guard) = (new FakeTimeProvider(), new InlineGuard());
        for (var i = 0; i < 5; i++)
        {
            Assert.False(guard.RanInline(clock, Slow, Budget));
            Assert.False(guard.RanInline(clock, Budget, Budget));
            clock.Advance(InlineGuard.StrikeWindow + TimeSpan.FromSeconds(1));
        }
        Assert.False(guard.Off);
        // Two close together still do.
        Assert.False(guard.RanInline(clock, Slow, Budget));
        Assert.True(guard.RanInline(clock, Slow, Budget));
    }
}
