using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.Server.Auth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Server.Tests;

public sealed class LoginThrottleTests
{
    private const string Ip = "192.0.2.7";

    [Fact]
    public void Failures_make_the_next_attempt_wait_longer_but_never_lock_the_user_out()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var throttle = new LoginThrottle(time);
        for (var i = 0; i < 3; i++)
        {
            Assert.False(throttle.IsBlocked("admin", Ip, out _));
            throttle.Failed("admin", Ip);
        }
        Assert.False(throttle.IsBlocked("admin", Ip, out _));
        var waits = new List<TimeSpan>();
        for (var i = 0; i < 8; i++)
        {
            throttle.Failed("admin", Ip);
            Assert.True(throttle.IsBlocked("admin", Ip, out var wait));
            waits.Add(wait);
            time.Advance(wait);
            Assert.False(throttle.IsBlocked("admin", Ip, out _));
        }
        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], waits.Select(w => w.TotalSeconds));
        Assert.False(throttle.IsBlocked("admin", "198.51.100.1", out _));
        Assert.False(throttle.IsBlocked("someone-else", Ip, out _));
        throttle.Succeeded("admin", Ip);
        throttle.Failed("admin", Ip);
        Assert.False(throttle.IsBlocked("admin", Ip, out _));
    }

    [Fact]
    public void A_spray_across_user_names_spends_the_address_budget_but_known_users_still_get_in()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = new LoginThrottleOptions();
        var throttle = new LoginThrottle(time, Options.Create(options));
        throttle.Succeeded("admin", Ip);
        for (var i = 0; i < options.AddressBudget; i++)
        {
            Assert.False(throttle.IsBlocked($"user{i}", Ip, out _));
            throttle.Failed($"user{i}", Ip);
        }
        Assert.True(throttle.IsBlocked("user-next", Ip, out var wait));
        Assert.Equal(options.AddressRefill, wait);
        Assert.False(throttle.IsBlocked("admin", Ip, out _));
        Assert.False(throttle.IsBlocked("user-next", "198.51.100.1", out _));
        time.Advance(options.AddressRefill);
        Assert.False(throttle.IsBlocked("user-next", Ip, out _));
        throttle.Failed("user-next", Ip);
        Assert.True(throttle.IsBlocked("user-after", Ip, out _));
    }

    [Fact]
    public void Entries_stay_bounded_under_a_spray_from_many_addresses()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var throttle = new LoginThrottle(time, Options.Create(new LoginThrottleOptions { MaxEntries = 1000 }));
        for (var i = 0; i < 20_000; i++)
        {
            throttle.Failed($"u{i}", $"10.0.{i / 250}.{i % 250}");
            time.Advance(TimeSpan.FromMilliseconds(10));
        }
        Assert.InRange(throttle.Entries, 1, 1001);
    }

    [Fact]
    public async Task The_right_password_gets_through_after_a_short_wait_and_a_spray_is_refused()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var s = await ServerFixture.StartAsync(services => services.AddSingleton<TimeProvider>(time));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client.PostAsync("/red/auth/token", Form("admin", "wrong"))).StatusCode);
        }
        Assert.Equal((HttpStatusCode)429, (await s.Client.PostAsync("/red/auth/token", Form("admin", "wrong"))).StatusCode);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client.PostAsync("/red/auth/token", Form("admin", "wrong"))).StatusCode);
        using var refused = await s.Client.PostAsync("/red/auth/token", Form("admin", ServerFixture.AdminPassword));
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        var retry = refused.Headers.RetryAfter!.Delta!.Value;
        Assert.Equal(2, retry.TotalSeconds);
        time.Advance(retry);
        using var ok = await s.Client.PostAsync("/red/auth/token", Form("admin", ServerFixture.AdminPassword));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.NotNull((await ok.Content.ReadFromJsonAsync<JsonObject>())!["access_token"]);

        // A spray over new user names spends the address's budget (admin's failures drew on it too) and is then refused.
        var budget = new LoginThrottleOptions().AddressBudget;
        var refusedAt = -1;
        for (var i = 0; i <= budget && refusedAt < 0; i++)
        {
            using var guess = await s.Client.PostAsync("/red/auth/token", Form($"guess{i}", "Summer2026!"));
            refusedAt = guess.StatusCode == (HttpStatusCode)429 ? i : refusedAt;
            Assert.True(guess.StatusCode is HttpStatusCode.Unauthorized or (HttpStatusCode)429);
        }
        Assert.InRange(refusedAt, budget - 6, budget);
        using var browserRefused = await s.Client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "guess-more", ["password"] = "x" }));
        Assert.Equal((HttpStatusCode)429, browserRefused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Client.PostAsync("/red/auth/token", Form("admin", ServerFixture.AdminPassword))).StatusCode);
    }

    private static FormUrlEncodedContent Form(string user, string password) => new(new Dictionary<string, string>
    {
        ["client_id"] = "node-red-admin", ["grant_type"] = "password", ["scope"] = "*", ["username"] = user, ["password"] = password,
    });
}
