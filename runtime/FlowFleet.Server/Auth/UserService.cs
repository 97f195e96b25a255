using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace FlowFleet.Server.Auth;

/// <summary>Users: create, check passwords (ASP.NET Core Identity's hasher), change passwords, list.</summary>
public sealed class UserService(IDbContextFactory<ServerDbContext> db)
{
    private static readonly UserAccount s_nobody = new() { Name = "", Role = "", PasswordHash = "" };
    private readonly PasswordHasher<UserAccount> _hasher = new();
    private readonly Lazy<string> _dummyHash = new(() => new PasswordHasher<UserAccount>().HashPassword(s_nobody, "not-a-password"));

    public async Task<UserAccount> AddAsync(string name, string role, string password, CancellationToken ct = default)
    {
        if (!Roles.IsValid(role))
        {
            throw new ArgumentException($"Unknown role '{role}' (use {string.Join(", ", Roles.All)})", nameof(role));
        }
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("A user needs a name", nameof(name));
        }
        CheckPassword(password);
        await using var ctx = await db.CreateDbContextAsync(ct);
        if (await ctx.Users.AnyAsync(u => u.Name == name, ct))
        {
            throw new InvalidOperationException($"User '{name}' exists already");
        }
        var user = new UserAccount { Name = name, Role = role, PasswordHash = "" };
        user.PasswordHash = _hasher.HashPassword(user, password);
        ctx.Users.Add(user);
        await ctx.SaveChangesAsync(ct);
        return user;
    }

    public async Task SetPasswordAsync(string name, string password, CancellationToken ct = default)
    {
        CheckPassword(password);
        await using var ctx = await db.CreateDbContextAsync(ct);
        var user = await ctx.Users.SingleOrDefaultAsync(u => u.Name == name, ct) ?? throw new InvalidOperationException($"No user '{name}'");
        user.PasswordHash = _hasher.HashPassword(user, password);
        await ctx.SaveChangesAsync(ct);
    }

    /// <summary>The user when the password is right, else null.</summary>
    public async Task<UserAccount?> VerifyAsync(string name, string password, CancellationToken ct = default)
    {
        await using var ctx = await db.CreateDbContextAsync(ct);
        var user = await ctx.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Name == name, ct);
        if (user is null)
        {
            // Same work as a real check, so timing does not tell which users exist.
            _hasher.VerifyHashedPassword(s_nobody, _dummyHash.Value, password);
            return null;
        }
        return _hasher.VerifyHashedPassword(user, user.PasswordHash, password) == PasswordVerificationResult.Failed ? null : user;
    }

    public async Task<UserAccount?> FindAsync(string name, CancellationToken ct = default)
    {
        await using var ctx = await db.CreateDbContextAsync(ct);
        return await ctx.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Name == name, ct);
    }

    public async Task<List<UserAccount>> ListAsync(CancellationToken ct = default)
    {
        await using var ctx = await db.CreateDbContextAsync(ct);
        return await ctx.Users.AsNoTracking().OrderBy(u => u.Name).ToListAsync(ct);
    }

    public async Task<bool> AnyAsync(CancellationToken ct = default)
    {
        await using var ctx = await db.CreateDbContextAsync(ct);
        return await ctx.Users.AnyAsync(ct);
    }

    public static string GeneratePassword() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('+', 'x').Replace('/', 'y').TrimEnd('=');

    private static void CheckPassword(string password)
    {
        if (string.IsNullOrEmpty(password) || password.Length < 8)
        {
            throw new ArgumentException("A password needs at least 8 characters", nameof(password));
        }
    }
}
