using System.Collections.Concurrent;
using Jint;
using Jint.Native;

namespace FlowFleet.Runtime.Scripting;

/// <summary><c>setTimeout</c>/<c>setInterval</c> for one script; all cleared when the node closes.</summary>
internal sealed class ScriptTimers(ScriptHost host) : IDisposable
{
    // Made by the first timer (most scripts of a deploy never start one).
    private ConcurrentDictionary<int, Timer>? _timers;
    private int _next;
    private bool _disposed;

    /// <summary>How many timers were ever started (a script that starts one may use its message later).</summary>
    public int Started => Volatile.Read(ref _next);

    public JsValue Start(JsValue callback, JsValue delay, JsValue[] args, bool repeat)
    {
        if (_disposed || callback is not Jint.Native.Function.Function)
        {
            return JsValue.Undefined;
        }
        var ms = Math.Max(0, delay.IsNumber() ? delay.AsNumber() : 0);
        var timers = LazyInitializer.EnsureInitialized(ref _timers, static () => new());
        var id = Interlocked.Increment(ref _next);
        var period = repeat ? TimeSpan.FromMilliseconds(Math.Max(1, ms)) : Timeout.InfiniteTimeSpan;
        var timer = new Timer(_ =>
        {
            if (!repeat && timers.TryRemove(id, out var t))
            {
                t.Dispose();
            }
            host.InvokeLater(callback, args);
        }, null, Timeout.Infinite, Timeout.Infinite);
        timers[id] = timer;
        timer.Change(TimeSpan.FromMilliseconds(ms), period);
        return JsNumber.Create(id);
    }

    public void Stop(JsValue id)
    {
        if (id.IsNumber() && Volatile.Read(ref _timers) is { } timers && timers.TryRemove((int)id.AsNumber(), out var t))
        {
            t.Dispose();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        if (Volatile.Read(ref _timers) is not { } timers)
        {
            return;
        }
        foreach (var t in timers.Values)
        {
            t.Dispose();
        }
        timers.Clear();
    }
}
