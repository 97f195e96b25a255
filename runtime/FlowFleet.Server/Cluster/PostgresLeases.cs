using System.Collections.Concurrent;
using FlowFleet.Runtime;
using Npgsql;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// Leases of scheduled nodes in PostgreSQL (<c>ff_leases</c>: name, holder, expiry), so each inject/timer fires on one
/// instance of the cluster. Every <see cref="Ttl"/>/3 this instance renews what it holds and tries to take what it doesn't:
/// a row can be taken only when its expiry has passed, so a dead holder's nodes move to another instance within about
/// 1⅓ TTL. The holder considers itself holder only until its own expiry minus a margin, so two instances never fire the
/// same tick, as long as their clocks agree to within the margin. Timings run on a <see cref="TimeProvider"/>.
/// </summary>
public sealed partial class PostgresLeases : IClusterLeases, IAsyncDisposable
{
    private readonly ClusterStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _round = new(1, 1);
    private readonly ITimer _timer;
    private int _disposed;

    public PostgresLeases(ClusterStore store, string holder, string prefix, TimeSpan ttl, TimeProvider time, ILogger<PostgresLeases> logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ttl, TimeSpan.FromMilliseconds(300));
        _store = store;
        Holder = holder;
        Prefix = prefix;
        Ttl = ttl;
        _time = time;
        _logger = logger;
        _timer = time.CreateTimer(_ => _ = RoundAsync(wait: false), null, Ttl / 3, Ttl / 3);
    }

    public string Holder { get; }

    public string Prefix { get; }

    public TimeSpan Ttl { get; }

    /// <summary>The leases this instance holds right now (for tests and <c>/healthz</c>).</summary>
    public IReadOnlyList<string> HeldKeys => [.. _entries.Where(e => e.Value.Held(_time.GetUtcNow())).Select(e => e.Key)];

    public IClusterLease Acquire(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var entry = _entries.AddOrUpdate(key, _ => new Entry(), (_, e) => { Interlocked.Increment(ref e.Refs); return e; });
        if (entry.Refs == 1)
        {
            _ = AttemptAsync(key, entry);
        }
        return new Handle(this, key, entry);
    }

    /// <summary>One renewal round over every lease competed for (the timer runs it; tests call it after moving the clock).</summary>
    public Task RoundAsync() => RoundAsync(wait: true);

    private async Task RoundAsync(bool wait)
    {
        // The timer skips a round while one is running (a slow database must not pile them up); a caller waits for it.
        if (!await _round.WaitAsync(wait ? Timeout.Infinite : 0).ConfigureAwait(false))
        {
            return;
        }
        try
        {
            foreach (var (key, entry) in _entries)
            {
                await AttemptAsync(key, entry).ConfigureAwait(false);
            }
        }
        finally
        {
            _round.Release();
        }
    }

    private async Task AttemptAsync(string key, Entry entry)
    {
        // Whole milliseconds: PostgreSQL keeps microseconds, and the release matches the expiry it wrote exactly.
        var now = _time.GetUtcNow();
        now = now.AddTicks(-(now.UtcTicks % TimeSpan.TicksPerMillisecond));
        try
        {
            await using var connection = await _store.OpenAsync().ConfigureAwait(false);
            await using var cmd = ClusterStore.Command(connection, """
                INSERT INTO ff_leases (name, holder, expires_at) VALUES ($1, $2, $3)
                ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                WHERE ff_leases.holder = EXCLUDED.holder OR ff_leases.expires_at <= $4
                RETURNING holder
                """, Prefix + key, Holder, now + Ttl, now);
            var won = await cmd.ExecuteScalarAsync().ConfigureAwait(false) is string;
            var was = entry.Held(now);
            // Held until the expiry written, less a fifth: the margin for clocks that disagree a little.
            Volatile.Write(ref entry.HeldUntilTicks, won ? (now + Ttl - Ttl / 5).UtcTicks : 0);
            if (won)
            {
                Volatile.Write(ref entry.ExpiryTicks, (now + Ttl).UtcTicks);
            }
            if (won && !was)
            {
                LogTaken(key, Holder);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            // PostgreSQL unreachable: what is held runs out on its own; nothing is taken meanwhile (the safe side).
            LogAttemptFailed(key, ex.Message);
        }
        finally
        {
            entry.First.TrySetResult();
        }
    }

    private async Task ReleaseAsync(string key, Entry entry)
    {
        if (!_entries.TryGetValue(key, out var current) || current != entry || Interlocked.Decrement(ref entry.Refs) > 0
            || !_entries.TryRemove(new KeyValuePair<string, Entry>(key, entry)))
        {
            return;
        }
        Volatile.Write(ref entry.HeldUntilTicks, 0);
        try
        {
            // Given up (node removed or redeployed, instance stopping): another instance may take it at once. Only the row
            // this entry wrote: a redeployed node's new entry may have renewed it already, and keeps it.
            await using var connection = await _store.OpenAsync().ConfigureAwait(false);
            await using var cmd = ClusterStore.Command(connection, "DELETE FROM ff_leases WHERE name = $1 AND holder = $2 AND expires_at = $3",
                Prefix + key, Holder, new DateTimeOffset(Volatile.Read(ref entry.ExpiryTicks), TimeSpan.Zero));
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            LogAttemptFailed(key, ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _timer.DisposeAsync().ConfigureAwait(false);
        foreach (var (key, entry) in _entries.ToArray())
        {
            Interlocked.Exchange(ref entry.Refs, 1);
            await ReleaseAsync(key, entry).ConfigureAwait(false);
        }
    }

    private sealed class Entry
    {
        public int Refs = 1;
        public long HeldUntilTicks;
        public long ExpiryTicks;
        public readonly TaskCompletionSource First = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Held(DateTimeOffset now) => now.UtcTicks < Volatile.Read(ref HeldUntilTicks);
    }

    private sealed class Handle(PostgresLeases owner, string key, Entry entry) : IClusterLease
    {
        private int _disposed;

        public bool Held => entry.Held(owner._time.GetUtcNow());

        public Task FirstAttempt => entry.First.Task;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _ = owner.ReleaseAsync(key, entry);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster: lease {Key} taken by {Holder}")]
    private partial void LogTaken(string key, string holder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: lease {Key} could not be renewed or taken ({Reason})")]
    private partial void LogAttemptFailed(string key, string reason);
}
