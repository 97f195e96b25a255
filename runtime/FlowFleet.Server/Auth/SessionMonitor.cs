using System.Collections.Concurrent;

namespace FlowFleet.Server.Auth;

/// <summary>
/// Ends long-lived connections (<c>/client</c>, <c>/red/comms</c>, Blazor circuits) whose session has ended. Sockets check
/// their session on every message they receive; this also closes the ones that only listen: at once when this process
/// revokes a session or changes a user, and every <see cref="SweepInterval"/> for changes made by another process (the CLI).
/// </summary>
public sealed class SessionMonitor : IDisposable
{
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<Watcher, byte> _watched = new();
    private readonly TokenService _tokens;
    private readonly ILogger<SessionMonitor> _logger;
    private readonly ITimer _timer;
    private int _sweeping;
    private int _again;

    public SessionMonitor(TokenService tokens, TimeProvider time, ILogger<SessionMonitor> logger)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(time);
        _tokens = tokens;
        _logger = logger;
        tokens.Changed += () => _ = SweepAsync();
        _timer = time.CreateTimer(_ => _ = SweepAsync(), null, SweepInterval, SweepInterval);
    }

    public int Count => _watched.Count;

    /// <summary>True while the session is valid; a connection without a session id (<c>--no-auth</c>) always is.</summary>
    public async ValueTask<bool> IsValidAsync(string? sid, CancellationToken ct = default) =>
        sid is null || await _tokens.ValidateSessionAsync(sid, ct) is not null;

    /// <summary>Calls <paramref name="end"/> once the session ends, until the returned handle is disposed.</summary>
    public IDisposable Watch(string? sid, Func<Task> end)
    {
        ArgumentNullException.ThrowIfNull(end);
        if (sid is null)
        {
            return Watcher.None;
        }
        var w = new Watcher(this, sid, end);
        _watched[w] = 0;
        return w;
    }

    /// <summary>Checks every watched session once (sessions shared by many sockets once); runs again if asked meanwhile.</summary>
    public async Task SweepAsync()
    {
        Interlocked.Exchange(ref _again, 1);
        while (Volatile.Read(ref _again) == 1 && Interlocked.CompareExchange(ref _sweeping, 1, 0) == 0)
        {
            try
            {
                while (Interlocked.Exchange(ref _again, 0) == 1)
                {
                    foreach (var group in _watched.Keys.GroupBy(w => w.Sid, StringComparer.Ordinal))
                    {
                        if (await _tokens.ValidateSessionAsync(group.Key) is not null)
                        {
                            continue;
                        }
                        foreach (var w in group)
                        {
                            // Not awaited: closing waits a moment for the client's answer, and must not hold up the others.
                            _ = w.EndAsync();
                        }
                    }
                }
            }
            catch (Exception ex)
            {
                // A failed check (the database busy) is retried on the next sweep; it must not stop the timer.
                _logger.LogWarning(ex, "Checking open sessions failed");
            }
            finally
            {
                Volatile.Write(ref _sweeping, 0);
            }
        }
    }

    public void Dispose() => _timer.Dispose();

    private sealed class Watcher(SessionMonitor? owner, string sid, Func<Task>? end) : IDisposable
    {
        public static readonly Watcher None = new(null, "", null);

        public string Sid => sid;

        public async Task EndAsync()
        {
            Dispose();
            if (end is not null)
            {
                try
                {
                    await end();
                }
                catch (Exception ex)
                {
                    owner?._logger.LogDebug(ex, "Closing a connection whose session ended failed");
                }
            }
        }

        public void Dispose() => owner?._watched.TryRemove(this, out _);
    }
}
