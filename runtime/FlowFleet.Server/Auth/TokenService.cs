using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;

namespace FlowFleet.Server.Auth;

/// <summary>A validated token: who and what for.</summary>
public sealed record TokenIdentity(string UserName, string Role, string Scope, DateTimeOffset ExpiresAt);

/// <summary>Bearer tokens with expiry and revocation, stored hashed; valid ones are cached briefly.</summary>
public sealed class TokenService(IDbContextFactory<ServerDbContext> db, UserService users, TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(7);
    private readonly ConcurrentDictionary<string, (TokenIdentity Identity, DateTimeOffset CachedUntil)> _cache = new(StringComparer.Ordinal);

    public async Task<(string Token, TokenIdentity Identity)> IssueAsync(UserAccount user, string scope, string clientId, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        var expires = time.GetUtcNow() + Lifetime;
        await using var ctx = await db.CreateDbContextAsync(ct);
        ctx.Tokens.Add(new ApiToken { TokenHash = Hash(token), UserName = user.Name, Scope = scope, ClientId = clientId, ExpiresAt = expires });
        await ctx.SaveChangesAsync(ct);
        return (token, new TokenIdentity(user.Name, user.Role, scope, expires));
    }

    public async Task<TokenIdentity?> ValidateAsync(string token, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var hash = Hash(token);
        if (_cache.TryGetValue(hash, out var hit) && hit.CachedUntil > now && hit.Identity.ExpiresAt > now)
        {
            return hit.Identity;
        }
        await using var ctx = await db.CreateDbContextAsync(ct);
        var row = await ctx.Tokens.AsNoTracking().SingleOrDefaultAsync(t => t.TokenHash == hash, ct);
        if (row is null || row.Revoked || row.ExpiresAt <= now)
        {
            _cache.TryRemove(hash, out _);
            return null;
        }
        var user = await users.FindAsync(row.UserName, ct);
        if (user is null)
        {
            return null;
        }
        var identity = new TokenIdentity(user.Name, user.Role, row.Scope, row.ExpiresAt);
        _cache[hash] = (identity, now + TimeSpan.FromSeconds(30));
        return identity;
    }

    public async Task<bool> RevokeAsync(string token, CancellationToken ct = default)
    {
        var hash = Hash(token);
        _cache.TryRemove(hash, out _);
        await using var ctx = await db.CreateDbContextAsync(ct);
        var row = await ctx.Tokens.SingleOrDefaultAsync(t => t.TokenHash == hash, ct);
        if (row is null)
        {
            return false;
        }
        row.Revoked = true;
        await ctx.SaveChangesAsync(ct);
        return true;
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
