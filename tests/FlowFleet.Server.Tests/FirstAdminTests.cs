using System.Net;
using System.Text.RegularExpressions;

namespace FlowFleet.Server.Tests;

/// <summary>
/// The first start creates the admin with the password it was given, or a generated one it prints — the command line
/// hashes it before the host is built (StartWarmup.BeforeHost), and only for the password the start settles on.
/// </summary>
public sealed partial class FirstAdminTests
{
    [Fact]
    public async Task The_environments_password_logs_in_after_a_first_start()
    {
        await using var s = await ChildServer.StartWithEnvironmentAsync(NewDataDir(), new Dictionary<string, string> { ["FLOWFLEET_ADMIN_PASSWORD"] = "from-the-environment" });

        Assert.Equal(HttpStatusCode.OK, (await Login(s, "from-the-environment")).StatusCode);
        Assert.DoesNotContain("Created user 'admin' with password", s.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_password_the_printed_one_logs_in()
    {
        await using var s = await ChildServer.StartWithEnvironmentAsync(NewDataDir(), new Dictionary<string, string> { ["FLOWFLEET_ADMIN_PASSWORD"] = "" });

        Assert.True(await s.WaitForLogAsync("Created user 'admin' with password: ", TimeSpan.FromSeconds(30)));
        var printed = Printed().Match(s.Log).Groups[1].Value;
        Assert.Equal(HttpStatusCode.OK, (await Login(s, printed)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Login(s, printed + "x")).StatusCode);
    }

    [Fact]
    public async Task A_password_on_the_command_line_wins_over_the_environments()
    {
        await using var s = await ChildServer.StartWithEnvironmentAsync(NewDataDir(), new Dictionary<string, string> { ["FLOWFLEET_ADMIN_PASSWORD"] = "from-the-environment" },
            0, "--ADMIN_PASSWORD", "from-the-command-line");

        Assert.Equal(HttpStatusCode.OK, (await Login(s, "from-the-command-line")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Login(s, "from-the-environment")).StatusCode);
    }

    private static string NewDataDir() => Directory.CreateTempSubdirectory("flowfleet-admin-").FullName;

    private static Task<HttpResponseMessage> Login(ChildServer s, string password) =>
        s.Client.PostAsync(new Uri("/red/auth/token", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["client_id"] = "node-red-admin", ["grant_type"] = "password", ["scope"] = "*", ["username"] = "admin", ["password"] = password,
        }));

    [GeneratedRegex(@"Created user 'admin' with password: (\S+)")]
    private static partial Regex Printed();
}
