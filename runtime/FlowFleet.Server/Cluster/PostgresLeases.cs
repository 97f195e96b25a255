using System.Collections.Concurrent;
using FlowFleet.Runtime;
using Npgsql;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// Leases of scheduled nodes in PostgreSQL (<c>ff_leases</c>: name, holder, expiry), so each inject/timer fires on one
/// instance of the cluster. Every <see cref="Ttl"/>/3 this instance renews what it holds and tries to take what it doesn't:
/// a row can be taken only when its expiry has passed, so a dead holder's nodes move to another instance within about
/// 1⅓ TTL. Expiries are written and compared by the database's clock (<c>now()</c>), never an instance's: the instances'
/// wall clocks need not agree. The holder counts itself holder for TTL less a fifth from the moment it sent the statement,
/// measured on its own monotonic clock (<see cref="TimeProvider.GetTimestamp"/>) — the database wrote an expiry at least TTL
/// after that moment, so the holder stops before another instance can take the row, as long as clocks run at about the
/// same rate (a fifth of TTL of drift per TTL). Timings run on a <see cref="TimeProvider"/>.
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
    public IReadOnlyList<string> HeldKeys => [.. _entries.Where(e => e.Value.Held(_time.GetTimestamp())).Select(e => e.Key)];

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
        // Taken before the statement is sent: the expiry the database writes is at least TTL after this moment.
        var sent = _time.GetTimestamp();
        try
        {
            await using var connection = await _store.OpenAsync().ConfigureAwait(false);
            await using var cmd = ClusterStore.Command(connection, """
                INSERT INTO ff_leases (name, holder, expires_at) VALUES ($1, $2, now() + $3)
                ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                WHERE ff_leases.holder = EXCLUDED.holder OR ff_leases.expires_at <= now()
                RETURNING expires_at
                """, Prefix + key, Holder, Ttl);
            var expiry = await cmd.ExecuteScalarAsync().ConfigureAwait(false) as DateTime?;
            var won = expiry is not null;
            var was = entry.Held(_time.GetTimestamp());
            // Held for TTL less a fifth from sending, on this instance's monotonic clock: the margin for clock rates and for
            // the time between the database's expiry passing and another instance acting on it.
            Volatile.Write(ref entry.HeldUntil, won ? sent + (long)((Ttl - Ttl / 5).TotalSeconds * _time.TimestampFrequency) : long.MinValue);
            if (won)
            {
                // The release deletes only the row with exactly this expiry (the database's value, to the microsecond).
                Volatile.Write(ref entry.ExpiryTicks, expiry!.Value.Ticks);
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
        Volatile.Write(ref entry.HeldUntil, long.MinValue);
        try
        {
            // Given up (node removed or redeployed, instance stopping): another instance may take it at once. Only the row
            // this entry wrote: a redeployed node's new entry may have renewed it already, and keeps it.
            await using var connection = await _store.OpenAsync().ConfigureAwait(false);
            await using var cmd = ClusterStore.Command(connection, "DELETE FROM ff_leases WHERE name = $1 AND holder = $2 AND expires_at = $3",
                Prefix + key, Holder, new DateTime(Volatile.Read(ref entry.ExpiryTicks), DateTimeKind.Utc));
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
        /// <summary>Until when (a <see cref="TimeProvider.GetTimestamp"/> value) this instance counts itself holder.</summary>
        public long HeldUntil = long.MinValue;
        public long ExpiryTicks;
        public readonly TaskCompletionSource First = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Held(long now) => now < Volatile.Read(ref HeldUntil);
    }

    private sealed class Handle(PostgresLeases owner, string key, Entry entry) : IClusterLease
    {
        private int _disposed;

        public bool Held => entry.Held(owner._time.GetTimestamp());

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
