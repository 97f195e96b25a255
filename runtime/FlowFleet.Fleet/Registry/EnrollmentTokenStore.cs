using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;

namespace FlowFleet.Fleet.Registry;

/// <summary>Enrollment tokens in the fleet database's <c>EnrollmentTokens</c> table, read and written on each call.</summary>
public sealed class EnrollmentTokenStore(IDbContextFactory<FleetDbContext> dbFactory) : IEnrollmentTokenStore
{
    /// <summary>What is stored of a token bound to a device: its SHA-256, hex.</summary>
    public static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));

    public async Task<EnrollmentTokenRecord> CreateTokenAsync(string? name, CancellationToken ct = default)
    {
        var record = new EnrollmentTokenRecord { Token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), Name = name, CreatedAt = DateTime.UtcNow };
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.EnrollmentTokens.Add(record);
        await db.SaveChangesAsync(ct);
        return record;
    }

    public async Task<IReadOnlyList<EnrollmentTokenRecord>> TokensAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.EnrollmentTokens.AsNoTracking().OrderBy(t => t.CreatedAt).ToListAsync(ct);
    }

    public async Task<bool> RevokeTokenAsync(string token, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.EnrollmentTokens.Where(t => t.Token == token).ExecuteUpdateAsync(s => s.SetProperty(t => t.Revoked, true), ct) > 0;
    }

    public async Task<bool> IsTokenValidAsync(string token, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.EnrollmentTokens.AnyAsync(t => t.Token == token && !t.Revoked, ct);
    }

    public async Task<bool> UseTokenAsync(string token, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.EnrollmentTokens.Where(t => t.Token == token && !t.Revoked).ExecuteUpdateAsync(s => s.SetProperty(t => t.Uses, t => t.Uses + 1), ct) > 0;
    }
}
