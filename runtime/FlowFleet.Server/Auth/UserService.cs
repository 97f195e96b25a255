using System.Security.Cryptography;
using System.Data.Common;
using Microsoft.AspNetCore.Identity;

namespace FlowFleet.Server.Auth;

/// <summary>Users: create, check passwords (ASP.NET Core Identity's hasher), change password, role or device access, delete, list.</summary>
public sealed class UserService(UserStore store)
{
    /// <summary>Raised with the user's name after a change that ends the user's sessions (password, role, groups, deletion).</summary>
    public event Action<string>? Changed;

    private static readonly UserAccount s_nobody = new() { Name = "", Role = "", PasswordHash = "" };
    private readonly PasswordHasher<UserAccount> _hasher = new();
    private readonly Lazy<string> _dummyHash = new(() => new PasswordHasher<UserAccount>().HashPassword(s_nobody, "not-a-password"));

    public Task<UserAccount> AddAsync(string name, string role, string password, CancellationToken ct = default) => AddAsync(NewAccount(name, role, password), ct);

    /// <summary>Stores a user made by <see cref="NewAccount"/> (or <see cref="Account"/>).</summary>
    public async Task<UserAccount> AddAsync(UserAccount user, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        var name = user.Name;
        if (await store.FindUserAsync(name, ct) is not null)
        {
            throw new InvalidOperationException($"User '{name}' exists already");
        }
        try
        {
            await store.InsertUserAsync(user, ct);
        }
        catch (DbException)
        {
            // Added meanwhile (by the CLI, or another instance of a cluster starting on an empty database)?
            if (await store.FindUserAsync(name, ct) is not null)
            {
                throw new InvalidOperationException($"User '{name}' exists already");
            }
            throw;
        }
        return user;
    }

    /// <summary>A new user with its password hashed, not stored yet (<see cref="ArgumentException"/> for a bad role, name or password).</summary>
    public UserAccount NewAccount(string name, string role, string password) => Account(name, role, password, _hasher);

    /// <summary>As <see cref="NewAccount"/>, without a service (the start hashes the first admin before the host exists).</summary>
    internal static UserAccount Account(string name, string role, string password, PasswordHasher<UserAccount> hasher)
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
        var user = new UserAccount { Name = name, Role = role, PasswordHash = "" };
        user.PasswordHash = hasher.HashPassword(user, password);
        return user;
    }

    public Task SetPasswordAsync(string name, string password, CancellationToken ct = default)
    {
        CheckPassword(password);
        return ChangeAsync(name, user =>
        {
            user.PasswordHash = _hasher.HashPassword(user, password);
            return false;
        }, ct);
    }

    public Task SetRoleAsync(string name, string role, CancellationToken ct = default)
    {
        if (!Roles.IsValid(role))
        {
            throw new ArgumentException($"Unknown role '{role}' (use {string.Join(", ", Roles.All)})", nameof(role));
        }
        return ChangeAsync(name, user =>
        {
            var demotesAnAdmin = user.Role == Roles.Admin && role != Roles.Admin;
            user.Role = role;
            return demotesAnAdmin;
        }, ct);
    }

    /// <summary>Limits the user to these device groups; null lifts the limit (all devices), an empty list allows none.</summary>
    public Task SetGroupsAsync(string name, IEnumerable<string>? groups, CancellationToken ct = default)
    {
        var list = groups?.Select(g => g.Trim()).Where(g => g.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        return ChangeAsync(name, user =>
        {
            user.Groups = list is null ? null : System.Text.Json.JsonSerializer.Serialize(list);
            return false;
        }, ct);
    }

    public async Task DeleteAsync(string name, CancellationToken ct = default)
    {
        var user = await store.FindUserAsync(name, ct) ?? throw new KeyNotFoundException($"No user '{name}'");
        await store.DeleteUserAsync(user, ct);
        Changed?.Invoke(name);
    }

    /// <summary>
    /// Applies a change and gives the user a new security stamp, which ends the user's cookies, tokens and sockets.
    /// <paramref name="change"/> says whether it takes the user's admin role away: the store then refuses it for the last
    /// admin, checked in the same transaction as the write.
    /// </summary>
    private async Task ChangeAsync(string name, Func<UserAccount, bool> change, CancellationToken ct)
    {
        // The store writes only over the user as read; a change made meanwhile (another admin, another instance) makes
        // this one read the user again and apply itself on top.
        UserAccount user;
        bool demotesAnAdmin;
        do
        {
            user = await store.FindUserAsync(name, ct) ?? throw new KeyNotFoundException($"No user '{name}'");
            demotesAnAdmin = change(user);
        }
        while (!await store.UpdateUserAsync(user, demotesAnAdmin, ct));
        Changed?.Invoke(name);
    }

    /// <summary>The user when the password is right, else null.</summary>
    public async Task<UserAccount?> VerifyAsync(string name, string password, CancellationToken ct = default)
    {
        var user = await store.FindUserAsync(name, ct);
        if (user is null)
        {
            // Same work as a real check, so timing does not tell which users exist.
            _hasher.VerifyHashedPassword(s_nobody, _dummyHash.Value, password);
            return null;
        }
        return _hasher.VerifyHashedPassword(user, user.PasswordHash, password) == PasswordVerificationResult.Failed ? null : user;
    }

    public Task<UserAccount?> FindAsync(string name, CancellationToken ct = default) => store.FindUserAsync(name, ct);

    public Task<List<UserAccount>> ListAsync(CancellationToken ct = default) => store.ListUsersAsync(ct);

    public Task<bool> AnyAsync(CancellationToken ct = default) => store.AnyUserAsync(ct);

    public static string GeneratePassword() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('+', 'x').Replace('/', 'y').TrimEnd('=');

    /// <summary>The first admin's password: the one configured, or a generated one when none is.</summary>
    internal static string PasswordOrGenerated(string? configured) => string.IsNullOrEmpty(configured) ? GeneratePassword() : configured;

    private static void CheckPassword(string password)
    {
        if (string.IsNullOrEmpty(password) || password.Length < 8)
        {
            throw new ArgumentException("A password needs at least 8 characters", nameof(password));
        }
    }
}
