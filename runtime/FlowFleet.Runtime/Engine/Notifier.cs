using System.Collections.Immutable;

namespace FlowFleet.Runtime;

/// <summary>A list of subscribers that a publisher calls synchronously; each subscription is an <see cref="IDisposable"/>.</summary>
public sealed class Notifier<T>
{
    private ImmutableArray<Action<T>> _handlers = [];

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
#pragma warning disable CA1031 // A failing subscriber must not break the publisher.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private sealed class Subscription(Notifier<T> owner, Action<T> handler) : IDisposable
    {
        public void Dispose() => ImmutableInterlocked.Update(ref owner._handlers, l => l.Remove(handler));
    }
}
