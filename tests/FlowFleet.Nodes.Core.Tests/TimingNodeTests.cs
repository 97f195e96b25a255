using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Function;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Nodes.Core.Tests;

public sealed class TimingNodeTests
{
    [Fact]
    public async Task Trigger_sends_op1_then_op2_and_ignores_messages_meanwhile()
    {
        // A minute on a fake clock: op2 comes from the Advance, not from waiting, and a real timer would not fire in time.
        var time = new FakeTimeProvider();
        await using var h = await Flows.One("""{"type":"trigger","op1":"on","op1type":"str","op2":"0","op2type":"num","duration":"60","units":"s","extend":false}""",
            extra: Flows.Handled,
            services: s => s.AddSingleton<TimeProvider>(time));
        h.Send("n", JsonValue.Create("x"));
        h.Send("n", JsonValue.Create("y"));
        Assert.Equal("on", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        // Both inputs handled (the second ignored while the first runs) before the clock moves: a complete node hears each.
        await h.TakeAsync("handled", 2);
        await Task.Run(() => time.Advance(TimeSpan.FromSeconds(59)));
        await h.AssertNothingYetAsync("o0");
        await Task.Run(() => time.Advance(TimeSpan.FromSeconds(1)));
        Assert.Equal(0, Flows.Num((await h.NextAsync("o0")).Payload));
        await Task.Run(() => time.Advance(TimeSpan.FromMinutes(10)));
        await h.AssertNothingYetAsync("o0");
    }

    [Fact]
    public async Task Trigger_with_zero_duration_waits_for_reset_and_sends_the_original_payload()
    {
        await using var h = await Flows.One("""{"type":"trigger","op1":"","op1type":"pay","op2":"","op2type":"nul","duration":"0","reset":"stop"}""");
        h.Send("n", JsonValue.Create("first"));
        Assert.Equal("first", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        // "ignored" sends nothing: the next message out is "again", sent after it (the node handles input in order).
        h.Send("n", JsonValue.Create("ignored"));
        h.Send("n", JsonValue.Create("stop"));
        h.Send("n", JsonValue.Create("again"));
        Assert.Equal("again", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Timer_interval_fires_until_stopped_by_a_message()
    {
        // On a fake clock: a tick can only come from an Advance, so "nothing after stop" is not a race with a real timer, and a
        // minute's interval that passes at once shows the node reads the host's clock.
        var time = new FakeTimeProvider();
        await using var h = await Flows.One("""{"type":"timer","mode":"interval","interval":60,"onPayload":"tick","onPayloadType":"str","startOnDeploy":true}""",
            services: s => s.AddSingleton<TimeProvider>(time));
        async Task Advance(double seconds) => await Task.Run(() => time.Advance(TimeSpan.FromSeconds(seconds)));
        await Advance(30);
        await h.AssertNothingYetAsync("o0");
        await Advance(30);
        Assert.Equal("tick", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        await Advance(60);
        Assert.Equal("tick", (await h.NextAsync("o0")).Payload!.GetValue<string>());

        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (h.Engine.Events.Status.Subscribe(e => { if (e.NodeId == "n" && e.Status.Text == "stopped") { stopped.TrySetResult(); } }))
        {
            h.Send("n", JsonValue.Create("stop"));
            await stopped.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        await Advance(600);
        await h.AssertNothingYetAsync("o0");

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (h.Engine.Events.Status.Subscribe(e => { if (e.NodeId == "n" && e.Status.Text?.StartsWith("next ", StringComparison.Ordinal) == true) { started.TrySetResult(); } }))
        {
            h.Send("n", JsonValue.Create("start"));
            await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        await Advance(60);
        Assert.Equal("tick", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Timer_cron_with_seconds_fires_and_windows_span_midnight()
    {
        await using var h = await Flows.One("""{"type":"timer","mode":"cron","cron":"* * * * * *","onPayload":"c","onPayloadType":"str"}""");
        Assert.Equal("c", (await h.NextAsync("o0", TimeSpan.FromSeconds(3))).Payload!.GetValue<string>());
        await using var w = await Flows.One("""{"type":"timer","mode":"window","start":"22:00","end":"06:00","days":[1,2,3,4,5],"startOnDeploy":false}""");
        var timer = (TimerNode)w.Engine.GetNode("n")!;
        Assert.True(timer.InWindow(new DateTime(2026, 11, 23, 23, 0, 0)));
        Assert.True(timer.InWindow(new DateTime(2026, 11, 23, 5, 59, 0)));
        Assert.False(timer.InWindow(new DateTime(2026, 11, 23, 12, 0, 0)));
        // Saturday 21 Nov 2026 is not allowed: the next edge is Monday 22:00.
        Assert.Equal(new DateTime(2026, 11, 23, 6, 0, 0), timer.Next(new DateTime(2026, 11, 21, 12, 0, 0)));
    }

    [Fact]
    public async Task Timer_cron_fires_once_per_occurrence_when_its_timer_wakes_early()
    {
        var time = new EarlyTimers(new FakeTimeProvider());
        await using var h = await Flows.One("""{"type":"timer","mode":"cron","cron":"* * * * * *","onPayload":"c","onPayloadType":"str","startOnDeploy":true}""",
            services: s => s.AddSingleton<TimeProvider>(time));
        // The fake clock moves to the end of each step before it wakes timers: stepping to 2 ms short of each second is
        // the moment an early timer runs, and the last 2 ms are when the occurrence was really due.
        for (var i = 0; i < 5; i++)
        {
            await Task.Run(() => time.Fake.Advance(TimeSpan.FromMilliseconds(998)));
            await Task.Run(() => time.Fake.Advance(TimeSpan.FromMilliseconds(2)));
        }
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("c", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        }
        await h.AssertNothingYetAsync("o0");
    }

    /// <summary>A clock whose timers wake 2 ms before the time they were set for, as real timers may.</summary>
    private sealed class EarlyTimers(FakeTimeProvider fake) : TimeProvider
    {
        public FakeTimeProvider Fake => fake;

        public override DateTimeOffset GetUtcNow() => fake.GetUtcNow();

        public override TimeZoneInfo LocalTimeZone => fake.LocalTimeZone;

        public override long TimestampFrequency => fake.TimestampFrequency;

        public override long GetTimestamp() => fake.GetTimestamp();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            new Early(fake.CreateTimer(callback, state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan), dueTime, period);

        private sealed class Early : ITimer
        {
            private readonly ITimer _inner;

            public Early(ITimer inner, TimeSpan dueTime, TimeSpan period)
            {
                _inner = inner;
                Change(dueTime, period);
            }

            public bool Change(TimeSpan dueTime, TimeSpan period) =>
                _inner.Change(dueTime > TimeSpan.FromMilliseconds(10) ? dueTime - TimeSpan.FromMilliseconds(2) : dueTime, period);

            public void Dispose() => _inner.Dispose();

            public ValueTask DisposeAsync() => _inner.DisposeAsync();
        }
    }
}
