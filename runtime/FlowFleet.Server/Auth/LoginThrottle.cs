using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Auth;

/// <summary>Login throttling settings (<c>Auth:Login:*</c>).</summary>
public sealed class LoginThrottleOptions
{
    /// <summary>Failures for one user name from one address before each further attempt has to wait.</summary>
    public int FreeFailures { get; set; } = 3;

    /// <summary>The first wait; it doubles with every further failure up to <see cref="MaxDelay"/>.</summary>
    public TimeSpan FirstDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Failures are forgotten after this long without another.</summary>
    public TimeSpan Forget { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Failures one address may make across all user names before it waits (a password spray).</summary>
    public int AddressBudget { get; set; } = 20;

    /// <summary>How often an address earns one more failure back.</summary>
    public TimeSpan AddressRefill { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a user who logged in from an address stays exempt from that address's budget.</summary>
    public TimeSpan Remember { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Entries kept at most (addresses and user-address pairs, half each); the least recently seen go first.</summary>
    public int MaxEntries { get; set; } = 100_000;
}

/// <summary>
/// Slows password guessing without locking the real user out. Per user name and address, failures beyond a few make the
/// next attempt wait (1 s, 2 s, 4 s … 30 s); after the wait the right password is let through. Per address, failures across
/// all user names draw on a budget that refills slowly; when it is spent, that address may only try user names that have
/// logged in from it before. An attempt refused for waiting is answered 429 with <c>Retry-After</c> and never checked.
/// On a shared PostgreSQL store the instances count each other's attempts (<see cref="Cluster.SharedLogins"/>).
/// </summary>
public sealed class LoginThrottle
{
    private readonly TimeProvider _time;
    private readonly LoginThrottleOptions _o;
    private readonly Cluster.SharedLogins? _shared;
    private readonly ConcurrentDictionary<string, Pair> _pairs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Budget> _addresses = new(StringComparer.Ordinal);

    public LoginThrottle(TimeProvider time, IOptions<LoginThrottleOptions>? options = null, Cluster.SharedLogins? shared = null)
    {
        _time = time;
        _o = options?.Value ?? new LoginThrottleOptions();
        _shared = shared;
        if (shared is not null)
        {
            // Another instance checked an attempt: it counts here as if made here.
            shared.Remote += (user, address, succeeded) =>
            {
                if (succeeded)
                {
                    Succeeded(user, address);
                }
                else
                {
                    Failed(user, address);
                }
            };
        }
    }

    /// <summary>A wrong password: counted here and, in a cluster, on every other instance before the answer goes out.</summary>
    public Task FailedAsync(string user, string? address)
    {
        Failed(user, address);
        return _shared?.PublishAsync(user, address, false) ?? Task.CompletedTask;
    }

    /// <summary>A right password: the user's waits end and the address knows the user — here and on the other instances.</summary>
    public Task SucceededAsync(string user, string? address)
    {
        Succeeded(user, address);
        return _shared?.PublishAsync(user, address, true) ?? Task.CompletedTask;
    }

    public int Entries => _pairs.Count + _addresses.Count;

    public bool IsBlocked(string user, string? address, out TimeSpan retryAfter)
    {
        var now = _time.GetUtcNow();
        retryAfter = TimeSpan.Zero;
        var known = false;
        if (_pairs.TryGetValue(Key(user, address), out var pair))
        {
            lock (pair)
            {
                known = pair.KnownUntil > now;
                var wait = pair.NextAttempt - now;
                if (wait > TimeSpan.Zero)
                {
                    retryAfter = wait;
                    return true;
                }
            }
        }
        if (!known && _addresses.TryGetValue(address ?? "", out var budget))
        {
            lock (budget)
            {
                budget.Refill(now, _o);
                if (budget.Tokens < 1)
                {
                    retryAfter = _o.AddressRefill * (1 - budget.Tokens);
                    return true;
                }
            }
        }
        return false;
    }

    public void Failed(string user, string? address)
    {
        var now = _time.GetUtcNow();
        Prune(now);
        var pair = _pairs.GetOrAdd(Key(user, address), _ => new Pair());
        lock (pair)
        {
            if (now - pair.LastFailure > _o.Forget)
            {
                pair.Failures = 0;
            }
            pair.Failures++;
            pair.LastFailure = now;
            pair.Seen = now;
            var over = pair.Failures - _o.FreeFailures;
            if (over > 0)
            {
                var delay = _o.FirstDelay * Math.Pow(2, Math.Min(over - 1, 30));
                pair.NextAttempt = now + (delay > _o.MaxDelay ? _o.MaxDelay : delay);
            }
        }
        var budget = _addresses.GetOrAdd(address ?? "", _ => new Budget(_o.AddressBudget, now));
        lock (budget)
        {
            budget.Refill(now, _o);
            budget.Tokens--;
            budget.Seen = now;
        }
    }

    public void Succeeded(string user, string? address)
    {
        var now = _time.GetUtcNow();
        var pair = _pairs.GetOrAdd(Key(user, address), _ => new Pair());
        lock (pair)
        {
            pair.Failures = 0;
            pair.NextAttempt = DateTimeOffset.MinValue;
            pair.KnownUntil = now + _o.Remember;
            pair.Seen = now;
        }
    }

    /// <summary>Drops what no longer matters, and the oldest entries beyond the cap, so a spray from many addresses stays bounded.</summary>
    private void Prune(DateTimeOffset now)
    {
        if (Entries < _o.MaxEntries)
        {
            return;
        }
        foreach (var (key, p) in _pairs)
        {
            if (now - p.Seen > _o.Forget && p.KnownUntil <= now)
            {
                _pairs.TryRemove(key, out _);
            }
        }
        foreach (var (key, b) in _addresses)
        {
            if (now - b.Seen > _o.AddressRefill * _o.AddressBudget)
            {
                _addresses.TryRemove(key, out _);
            }
        }
        // Each table gets half the cap; beyond it the least recently seen entries go.
        Evict(_pairs, p => p.Seen);
        Evict(_addresses, b => b.Seen);
    }

    private void Evict<T>(ConcurrentDictionary<string, T> table, Func<T, DateTimeOffset> seen)
    {
        var excess = table.Count - _o.MaxEntries * 3 / 8;
        if (excess <= 0)
        {
            return;
        }
        foreach (var key in table.OrderBy(kv => seen(kv.Value)).Take(excess).Select(kv => kv.Key).ToList())
        {
            table.TryRemove(key, out _);
        }
    }

    private static string Key(string user, string? address) => user.ToLowerInvariant() + "|" + address;

    private sealed class Pair
    {
        public int Failures;
        public DateTimeOffset LastFailure = DateTimeOffset.MinValue;
        public DateTimeOffset NextAttempt = DateTimeOffset.MinValue;
        public DateTimeOffset KnownUntil = DateTimeOffset.MinValue;
        public DateTimeOffset Seen;
    }

    private sealed class Budget(double tokens, DateTimeOffset now)
    {
        public double Tokens = tokens;
        public DateTimeOffset Seen = now;
        private DateTimeOffset _refilled = now;

        public void Refill(DateTimeOffset now, LoginThrottleOptions o)
        {
            Tokens = Math.Min(o.AddressBudget, Tokens + (now - _refilled) / o.AddressRefill);
            _refilled = now;
        }
    }
}
