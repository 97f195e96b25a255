using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// Lets at most <paramref name="perSecond"/> lines a second through to <paramref name="inner"/> and reports how many it held
/// back. Thousands of devices reconnecting at once would otherwise flood the log and the threads writing it.
/// </summary>
internal sealed class RateLimitedLogger(ILogger inner, int perSecond, TimeProvider? time = null) : ILogger
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private static readonly Action<ILogger, int, int, Exception?> HeldBack = LoggerMessage.Define<int, int>(LogLevel.Warning,
        new EventId(1, "HeldBack"), "{Count} more log lines held back in the last second (at most {Limit} a second)");

    private long _window;
    private int _lines;
    private int _held;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var now = _time.GetTimestamp() / _time.TimestampFrequency;
        if (Interlocked.Exchange(ref _window, now) != now)
        {
            Interlocked.Exchange(ref _lines, 0);
            if (Interlocked.Exchange(ref _held, 0) is var held and > 0)
            {
                HeldBack(inner, held, perSecond, null);
            }
        }
        if (Interlocked.Increment(ref _lines) > perSecond)
        {
            Interlocked.Increment(ref _held);
            return;
        }
        inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
