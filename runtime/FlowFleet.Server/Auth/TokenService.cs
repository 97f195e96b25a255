using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using FlowFleet.Server.Cluster;

namespace FlowFleet.Server.Auth;

/// <summary>A validated session: who, what for, and its id (the token's hash) for later checks.</summary>
public sealed record TokenIdentity(string UserName, string Role, string Scope, DateTimeOffset ExpiresAt, string Sid, IReadOnlyList<string>? Groups);

/// <summary>
/// Sessions: bearer tokens and the browser's cookie sessions, stored hashed with expiry, revocation and the user's security
/// stamp at issue. A session is valid while it is not revoked or expired and its stamp is still the user's: a password, role
/// or device-access change, or deleting the user, ends every session of the user at once.
/// </summary>
public sealed class TokenService
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(7);

    /// <summary>The client id of the browser's cookie sessions.</summary>
    public const string CookieClient = "flowfleet-ui";

    /// <summary>
    /// How long a validated session is trusted without reading the database. Changes made in this process drop the cached
    /// entries at once; this bounds how late a change made by another process (the <c>flowfleet user</c> CLI) is seen.
    /// With sessions shared by a cluster nothing is cached: another instance may end a session at any moment.
    /// </summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);

    private readonly TimeSpan _cacheFor;
    private readonly ClusterSessions? _cluster;

    private readonly ConcurrentDictionary<string, (TokenIdentity Identity, DateTimeOffset CachedUntil)> _cache = new(StringComparer.Ordinal);
    private readonly UserStore _store;
    private readonly TimeProvider _time;

    public TokenService(UserStore store, UserService users, TimeProvider time, ClusterSessions? cluster = null)
    {
        ArgumentNullException.ThrowIfNull(users);
        _store = store;
        _time = time;
        _cluster = cluster;
        _cacheFor = cluster is null ? CacheFor : TimeSpan.Zero;
        if (cluster is not null)
        {
            cluster.RemoteChanged += () => Changed?.Invoke();
        }
        users.Changed += name =>
        {
            foreach (var (hash, hit) in _cache)
            {
                if (hit.Identity.UserName == name)
                {
                    _cache.TryRemove(hash, out _);
                }
            }
            Changed?.Invoke();
        };
    }

    /// <summary>Raised after sessions may have ended (a revocation or a user change), so open sockets are checked again.</summary>
    public event Action? Changed;

    public async Task<(string Token, TokenIdentity Identity)> IssueAsync(UserAccount user, string scope, string clientId, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        var expires = _time.GetUtcNow() + Lifetime;
        await _store.InsertTokenAsync(new ApiToken { TokenHash = Hash(token), UserName = user.Name, Scope = scope, ClientId = clientId, ExpiresAt = expires, Stamp = user.SecurityStamp }, ct);
        return (token, new TokenIdentity(user.Name, user.Role, scope, expires, Hash(token), user.GroupList()));
    }

    public Task<TokenIdentity?> ValidateAsync(string token, CancellationToken ct = default) => ValidateSessionAsync(Hash(token), ct);

    /// <summary>The session with this id (a token's hash), or null when it has ended.</summary>
    public async Task<TokenIdentity?> ValidateSessionAsync(string sid, CancellationToken ct = default)
    {
        var now = _time.GetUtcNow();
        if (_cacheFor > TimeSpan.Zero && _cache.TryGetValue(sid, out var hit) && hit.CachedUntil > now && hit.Identity.ExpiresAt > now)
        {
            return hit.Identity;
        }
        var (row, user) = await _store.FindSessionAsync(sid, ct) ?? default;
        if (row is null || row.Revoked || row.ExpiresAt <= now || user is null || user.SecurityStamp != row.Stamp)
        {
            _cache.TryRemove(sid, out _);
            return null;
        }
        if (row.ClientId == CookieClient && row.ExpiresAt - now < Lifetime / 2)
        {
            // The cookie slides; its session follows, so an active browser stays logged in.
            row.ExpiresAt = now + Lifetime;
            await _store.SetTokenExpiryAsync(row.Id, row.ExpiresAt, ct);
        }
        var identity = new TokenIdentity(user.Name, user.Role, row.Scope, row.ExpiresAt, sid, user.GroupList());
        if (_cacheFor > TimeSpan.Zero)
        {
            _cache[sid] = (identity, now + _cacheFor);
        }
        return identity;
    }

    public Task<bool> RevokeAsync(string token, CancellationToken ct = default) => RevokeSessionAsync(Hash(token), ct);

    public async Task<bool> RevokeSessionAsync(string sid, CancellationToken ct = default)
    {
        _cache.TryRemove(sid, out _);
        if (!await _store.RevokeTokenAsync(sid, ct))
        {
            return false;
        }
        Changed?.Invoke();
        if (_cluster is not null)
        {
            await _cluster.PublishAsync();
        }
        return true;
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
