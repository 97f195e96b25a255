using FlowFleet.Server.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>
/// Users and sessions under concurrent requests on the users' SQLite file: a burst of logins and session checks (each
/// statement its own pooled connection, writers meeting readers) all succeed, and two changes of one user made at the
/// same time both stay (EF Core wrote only the changed columns; a whole-row write from a stale read undid the other one).
/// </summary>
public sealed class UserStoreBurstTests : IDisposable
{
    private readonly SqliteTempDirectory _dir = new("flowfleet-users-burst-");

    public void Dispose() => _dir.Dispose();

    /// <summary>The services on a users' file made ready.</summary>
    private async Task<ServiceProvider> ServicesAsync()
    {
        var sp = UserServices.Build(_dir.FullName, TimeProvider.System);
        await ServerDatabase.EnsureAsync(sp);
        return sp;
    }

    [Fact]
    public async Task A_change_written_from_a_read_made_before_another_change_does_not_undo_it()
    {
        await using var sp = await ServicesAsync();
        var users = sp.GetRequiredService<UserService>();
        var store = sp.GetRequiredService<UserStore>();
        await users.AddAsync("vera", Roles.Viewer, "old-password");

        // A groups change read the user, then an admin reset the password, then the groups change writes.
        var stale = (await store.FindUserAsync("vera", default))!;
        await users.SetPasswordAsync("vera", "new-password");
        stale.Groups = "[\"kitchen\"]";
        await store.UpdateUserAsync(stale, keepAnAdmin: false, default);

        Assert.NotNull(await users.VerifyAsync("vera", "new-password"));
        Assert.Null(await users.VerifyAsync("vera", "old-password"));
    }

    [Fact]
    public async Task Concurrent_logins_session_checks_and_changes_all_succeed()
    {
        await using var sp = await ServicesAsync();
        var users = sp.GetRequiredService<UserService>();
        var tokens = sp.GetRequiredService<TokenService>();
        await users.AddAsync("admin", Roles.Admin, "first-password");
        await users.AddAsync("other", Roles.Admin, "other-password");

        var burst = Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            var user = await users.VerifyAsync("admin", "first-password") ?? throw new InvalidOperationException("login refused");
            var (token, _) = await tokens.IssueAsync(user, "*", TokenService.CookieClient);
            for (var k = 0; k < 5; k++)
            {
                Assert.NotNull(await tokens.ValidateAsync(token));
            }
            if (i % 8 == 0)
            {
                await users.SetGroupsAsync("other", [$"g{i}"]);
            }
            await tokens.RevokeAsync(token);
        })).ToList();
        await Task.WhenAll(burst);
    }
}
