using FlowFleet.Fleet.Hub;
using Microsoft.Extensions.Logging;

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
    public async Task Passes_the_limit_per_second_and_then_says_how_many_it_held_back()
    {
        var inner = new Collecting();
        var logger = new RateLimitedLogger(inner, 5);
        // Start right after a second boundary so the burst falls in one window.
        var second = Environment.TickCount64 / 1000;
        while (Environment.TickCount64 / 1000 == second)
        {
            await Task.Delay(5);
        }
        for (var i = 0; i < 50; i++)
        {
            logger.LogWarning("line {N}", i);
        }
        Assert.Equal(5, inner.Lines.Count);
        Assert.Equal("line 4", inner.Lines[^1]);
        await Task.Delay(1100);
        logger.LogWarning("after");
        Assert.Equal(["45 more log lines held back in the last second (at most 5 a second)", "after"], inner.Lines[5..]);
    }
}
