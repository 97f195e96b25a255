using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Tests;
using FlowFleet.Server.Auth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Server.Tests.Cluster;

/// <summary>
/// Users and sessions on the shared PostgreSQL: two server instances on one database. A login or token made through
/// either works on both; ending it through A is refused by B on its very next request (an attacker's old cookie gets
/// nothing), and B's open sockets close on A's notice — B's clock is frozen, so its own periodic sweep never runs.
/// </summary>
public sealed class SharedAuthTests
{
    private const string User = "olga";
    private const string Password = "operator-pw-1";

    [Theory]
    [InlineData("password")]
    [InlineData("role")]
    [InlineData("delete")]
    [InlineData("revoke")]
    public async Task A_session_made_on_one_instance_works_on_the_other_and_ends_on_both(string how)
    {
        var connection = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        string[] shared = ["--Storage:Provider", "postgres", "--Storage:ConnectionString", connection];
        await using var a = await ServerFixture.StartAsync(extraArgs: shared);
        var clockB = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var b = await ServerFixture.StartAsync(services => services.AddSingleton<TimeProvider>(clockB), extraArgs: shared);
        using var adminA = await a.AdminAsync();
        Assert.Equal(HttpStatusCode.Created, (await adminA.PostAsJsonAsync("/api/users", new { name = User, role = Roles.Operator, password = Password })).StatusCode);

        // One set of users: B logs in the user made through A, and its admin is A's (one admin for the cluster).
        using var adminB = await b.AdminAsync();
        var users = await adminB.GetFromJsonAsync<JsonArray>("/api/users");
        Assert.Equal(["admin", User], users!.Select(u => (string)u!["name"]!).Order());
        var cookie = await SessionTests.LoginAsync(a, User, Password);
        var token = await b.TokenAsync(User, Password);
        using var cookieOnA = SessionTests.WithCookie(a, cookie);
        using var cookieOnB = SessionTests.WithCookie(b, cookie);
        using var tokenOnA = a.Authorized(token);
        using var tokenOnB = b.Authorized(token);
        foreach (var c in new[] { cookieOnA, cookieOnB, tokenOnA, tokenOnB })
        {
            Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/api/devices")).StatusCode);
        }
        // A socket on B that only listens: nothing it sends would make B check its session.
        using var client = await SessionTests.ClientAsync(b, cookie);

        switch (how)
        {
            case "password":
                Assert.Equal(HttpStatusCode.OK, (await adminA.PatchAsJsonAsync($"/api/users/{User}", new { password = "another-pw-2" })).StatusCode);
                break;
            case "role":
                Assert.Equal(HttpStatusCode.OK, (await adminA.PatchAsJsonAsync($"/api/users/{User}", new { role = Roles.Viewer })).StatusCode);
                break;
            case "delete":
                Assert.True((await adminA.DeleteAsync($"/api/users/{User}")).IsSuccessStatusCode);
                break;
            default:
                Assert.Equal(HttpStatusCode.Redirect, (await cookieOnA.GetAsync("/logout")).StatusCode);
                using (var revoke = await tokenOnA.PostAsync("/red/auth/revoke", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token })))
                {
                    Assert.True(revoke.IsSuccessStatusCode, await revoke.Content.ReadAsStringAsync());
                }
                break;
        }

        // At once, on both instances: no window in which B still trusts what A ended.
        foreach (var c in new[] { cookieOnB, tokenOnB, cookieOnA, tokenOnA })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await c.GetAsync("/api/devices")).StatusCode);
        }
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await SessionTests.ClosedAsync(client));
        if (how == "password")
        {
            // The new password works through B, the old one nowhere.
            Assert.Equal(HttpStatusCode.OK, (await b.Authorized(await b.TokenAsync(User, "another-pw-2")).GetAsync("/api/devices")).StatusCode);
            using var old = await b.Client.PostAsync("/red/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["client_id"] = "node-red-admin", ["grant_type"] = "password", ["scope"] = "*", ["username"] = User, ["password"] = Password,
            }));
            Assert.False(old.IsSuccessStatusCode);
        }
    }
}
