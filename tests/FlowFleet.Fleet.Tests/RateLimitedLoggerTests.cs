using FlowFleet.Fleet.Hub;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Fleet.Tests;

public sealed class RateLimitedLoggerTests
{
    private sealed class Collecting : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }

    [Fact]
    public void Passes_the_limit_per_second_and_then_says_how_many_it_held_back()
    {
        var inner = new Collecting();
        var time = new FakeTimeProvider();
        var logger = new RateLimitedLogger(inner, 5, time);
        for (var i = 0; i < 50; i++)
        {
            logger.LogWarning("line {N}", i);
        }
        Assert.Equal(5, inner.Lines.Count);
        Assert.Equal("line 4", inner.Lines[^1]);
        // Still the same second: held back, and not yet reported.
        time.Advance(TimeSpan.FromMilliseconds(900));
        logger.LogWarning("same second");
        Assert.Equal(5, inner.Lines.Count);
        time.Advance(TimeSpan.FromMilliseconds(200));
        logger.LogWarning("after");
        Assert.Equal(["46 more log lines held back in the last second (at most 5 a second)", "after"], inner.Lines[5..]);
        // A quiet window reports nothing held back.
        time.Advance(TimeSpan.FromSeconds(1));
        logger.LogWarning("later");
        Assert.Equal("later", inner.Lines[^1]);
        Assert.Equal(8, inner.Lines.Count);
    }
}
