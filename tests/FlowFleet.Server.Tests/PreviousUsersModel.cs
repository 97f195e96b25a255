using FlowFleet.Server.Auth;
using Microsoft.EntityFrameworkCore;

namespace FlowFleet.Server.Tests;

/// <summary>
/// The users database as FlowFleet made it up to 2026-12-07, on EF Core (<c>ServerDbContext</c>, created with
/// <c>EnsureCreated</c>): kept here so the tests can make a file exactly as an existing installation has one and prove that
/// <see cref="UserStore"/>'s plain SQL reads and writes it the same way.
/// </summary>
public sealed class PreviousServerDbContext(DbContextOptions<PreviousServerDbContext> options) : DbContext(options)
{
    public DbSet<UserAccount> Users => Set<UserAccount>();

    public DbSet<ApiToken> Tokens => Set<ApiToken>();

    public static PreviousServerDbContext Sqlite(string connection) =>
        new(new DbContextOptionsBuilder<PreviousServerDbContext>().UseSqlite(connection).Options);

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        modelBuilder.Entity<UserAccount>().HasIndex(u => u.Name).IsUnique();
        modelBuilder.Entity<ApiToken>().HasIndex(t => t.TokenHash).IsUnique();
        modelBuilder.Entity<UserAccount>().Property(u => u.CreatedAt).HasConversion(v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
        modelBuilder.Entity<ApiToken>().Property(t => t.ExpiresAt).HasConversion(v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
    }
}
