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
