using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Runtime;

/// <summary>
/// A list of subscribers that a publisher calls synchronously; each subscription is an <see cref="IDisposable"/>. A
/// subscriber that throws does not stop the publisher or the other subscribers; its exception goes to the log given (or,
/// without one, to <see cref="Failed"/>'s count and <see cref="LastFailure"/>), never nowhere.
/// </summary>
public sealed class Notifier<T>(ILogger? logger = null)
{
    private ImmutableArray<Action<T>> _handlers = [];
    private long _failed;

    /// <summary>How many subscriber calls threw.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>The last exception a subscriber threw.</summary>
    public Exception? LastFailure { get; private set; }

    /// <summary>Where subscriber failures are logged (set by the owner once it has a logger).</summary>
    public ILogger? Logger { get; set; } = logger;

    public bool HasSubscribers => !_handlers.IsEmpty;

    public IDisposable Subscribe(Action<T> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ImmutableInterlocked.Update(ref _handlers, l => l.Add(handler));
        return new Subscription(this, handler);
    }

    public void Publish(T value)
    {
        foreach (var h in _handlers)
        {
            try
            {
                h(value);
            }
#pragma warning disable CA1031 // A failing subscriber must not break the publisher: it is counted and logged instead.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Interlocked.Increment(ref _failed);
                LastFailure = ex;
                Logger?.LogError(ex, "A subscriber of {Event} failed", typeof(T).Name);
            }
        }
    }

    private sealed class Subscription(Notifier<T> owner, Action<T> handler) : IDisposable
    {
        public void Dispose() => ImmutableInterlocked.Update(ref owner._handlers, l => l.Remove(handler));
    }
}
