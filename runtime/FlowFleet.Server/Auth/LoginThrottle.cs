using System.Collections.Concurrent;

namespace FlowFleet.Server.Auth;

/// <summary>Refuses further logins for a user name from an address after repeated failures within a minute.</summary>
public sealed class LoginThrottle(TimeProvider time)
{
    public const int MaxFailures = 5;
    private static readonly TimeSpan s_window = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, List<DateTimeOffset>> _failures = new(StringComparer.Ordinal);

    public bool IsBlocked(string user, string? address, out TimeSpan retryAfter)
    {
        var now = time.GetUtcNow();
        retryAfter = TimeSpan.Zero;
        if (!_failures.TryGetValue(Key(user, address), out var list))
        {
            return false;
        }
        lock (list)
        {
            list.RemoveAll(t => now - t > s_window);
            if (list.Count < MaxFailures)
            {
                return false;
            }
            retryAfter = s_window - (now - list[0]);
            return true;
        }
    }

    public void Failed(string user, string? address)
    {
        var list = _failures.GetOrAdd(Key(user, address), _ => []);
        lock (list)
        {
            list.Add(time.GetUtcNow());
        }
    }

    public void Succeeded(string user, string? address) => _failures.TryRemove(Key(user, address), out _);

    private static string Key(string user, string? address) => user.ToLowerInvariant() + "|" + address;
}
