using Microsoft.EntityFrameworkCore;

namespace FlowFleet.Server.Auth;

/// <summary>A FlowFleet user; the role decides what the user may do.</summary>
public sealed class UserAccount
{
    public int Id { get; set; }

    public required string Name { get; set; }

    public required string PasswordHash { get; set; }

    public required string Role { get; set; }

    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;

    /// <summary>Changes whenever the password, role or device access changes: every session issued before ends.</summary>
    public string SecurityStamp { get; set; } = NewStamp();

    /// <summary>The device groups the user may see and drive, as a JSON array; null: all devices.</summary>
    public string? Groups { get; set; }

    public static string NewStamp() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>The groups this user is limited to, or null when not limited (admins never are).</summary>
    public IReadOnlyList<string>? GroupList() =>
        Role == Roles.Admin || Groups is null ? null : System.Text.Json.JsonSerializer.Deserialize<List<string>>(Groups) ?? [];
}

/// <summary>A bearer token; only its SHA-256 is stored.</summary>
public sealed class ApiToken
{
    public int Id { get; set; }

    public required string TokenHash { get; set; }

    public required string UserName { get; set; }

    public string Scope { get; set; } = "*";

    public string ClientId { get; set; } = "";

    public DateTimeOffset ExpiresAt { get; set; }

    public bool Revoked { get; set; }

    /// <summary>The user's security stamp when the token was issued; a different stamp now means the token is dead.</summary>
    public string Stamp { get; set; } = "";
}

/// <summary>The server's own tables (users and tokens) in <c>data/flowfleet.db</c>.</summary>
public sealed class ServerDbContext(DbContextOptions<ServerDbContext> options) : DbContext(options)
{
    public DbSet<UserAccount> Users => Set<UserAccount>();

    public DbSet<ApiToken> Tokens => Set<ApiToken>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        modelBuilder.Entity<UserAccount>().HasIndex(u => u.Name).IsUnique();
        modelBuilder.Entity<ApiToken>().HasIndex(t => t.TokenHash).IsUnique();
        // SQLite cannot order or compare DateTimeOffset; store UTC ticks.
        modelBuilder.Entity<UserAccount>().Property(u => u.CreatedAt).HasConversion(v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
        modelBuilder.Entity<ApiToken>().Property(t => t.ExpiresAt).HasConversion(v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
    }
}
