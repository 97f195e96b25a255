using System.Net;
using System.Net.Http.Json;
using FlowFleet.Fleet.Tests;
using FlowFleet.Server.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests.Cluster;

/// <summary>
/// Login throttling on a shared PostgreSQL: two instances count one user's failures from one address together, so
/// guesses alternated between them (as a round-robin load balancer spreads them) are slowed as if all went to one.
/// </summary>
public sealed class SharedLoginThrottleTests
{
    private const string User = "olga";

    [Fact]
    public async Task Failures_through_either_instance_count_on_both()
    {
        var connection = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        // Long waits, so a throttled pair stays throttled for the rest of the test on a slow machine.
        string[] shared = ["--Storage:Provider", "postgres", "--Storage:ConnectionString", connection, "--Auth:Login:FirstDelay", "00:10:00", "--Auth:Login:MaxDelay", "00:10:00"];
        await using var a = await ServerFixture.StartAsync(extraArgs: shared);
        await using var b = await ServerFixture.StartAsync(extraArgs: shared);
        using var admin = await a.AdminAsync();
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/users", new { name = User, role = Roles.Operator, password = "operator-pw-1" })).StatusCode);
        var throttleA = a.App.Services.GetRequiredService<LoginThrottle>();
        var throttleB = b.App.Services.GetRequiredService<LoginThrottle>();
        const string Address = "127.0.0.1";

        // Three free failures, then the fourth makes the next attempt wait — counted across both instances: A, B, A, B.
        var through = new[] { a, b, a, b };
        for (var i = 0; i < through.Length; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await LoginAsync(through[i], "guess-" + i));
        }
        // Each instance saw two of the four; both must hold the user back now (the other's failures arrive as notices).
        await Poll.UntilAsync(() => throttleA.IsBlocked(User, Address, out _) && throttleB.IsBlocked(User, Address, out _),
            "both instances throttle the user after four failures spread over them");
        Assert.Equal(HttpStatusCode.TooManyRequests, await LoginAsync(a, "operator-pw-1"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await LoginAsync(b, "operator-pw-1"));
    }

    private static async Task<HttpStatusCode> LoginAsync(ServerFixture s, string password)
    {
        using var response = await s.Client.PostAsync("/red/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["client_id"] = "node-red-admin", ["grant_type"] = "password", ["scope"] = "*", ["username"] = User, ["password"] = password,
        }));
        return response.StatusCode;
    }
}
