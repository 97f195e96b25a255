using System.Diagnostics;
using System.Net;
using FlowFleet.Fleet.Tests;

namespace FlowFleet.Server.Tests.Cluster;

/// <summary>
/// <c>flowfleet user …</c> run as an operator runs it next to a cluster: a process of its own with the instances' storage
/// settings in its environment (<c>FLOWFLEET_Storage__Provider=postgres</c>, as the compose file sets them). What it does
/// is what a running instance on the same PostgreSQL sees at once: the user it adds logs in, a role change ends the
/// user's sessions, a new password replaces the old, a deleted user is refused, and its list shows the instance's admin.
/// </summary>
public sealed class PostgresUserCliTests
{
    [Fact]
    public async Task User_commands_act_on_the_shared_store_a_running_instance_reads()
    {
        var connection = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        await using var server = await ServerFixture.StartAsync(extraArgs: ["--Storage:Provider", "postgres", "--Storage:ConnectionString", connection]);
        var data = Directory.CreateTempSubdirectory("ff-cli-pg-").FullName;
        try
        {
            async Task<(int Code, string Out)> Cli(params string[] args)
            {
                var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "flowfleet.dll"), .. args, "--data", data])
                {
                    RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = data,
                };
                start.Environment["FLOWFLEET_Storage__Provider"] = "postgres";
                start.Environment["FLOWFLEET_Storage__ConnectionString"] = connection;
                using var process = Process.Start(start)!;
                var output = process.StandardOutput.ReadToEndAsync();
                var error = process.StandardError.ReadToEndAsync();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
                return (process.ExitCode, await output + await error);
            }

            var (code, output) = await Cli("user", "add", "olga", "--role", "operator", "--password", "operator-pw-1");
            Assert.True(code == 0, output);
            // The instance's own admin is in the list the command reads: one set of users, not a file next to it.
            (code, output) = await Cli("user", "list");
            Assert.True(code == 0, output);
            Assert.Contains("admin", output, StringComparison.Ordinal);
            Assert.Contains("olga", output, StringComparison.Ordinal);
            var token = await server.TokenAsync("olga", "operator-pw-1");
            using var olga = server.Authorized(token);
            Assert.Equal(HttpStatusCode.OK, (await olga.GetAsync("/api/devices")).StatusCode);

            // A role change through the command ends her sessions on the running instance at once.
            (code, output) = await Cli("user", "set", "olga", "--role", "viewer");
            Assert.True(code == 0, output);
            Assert.Contains("olga: viewer", output, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Unauthorized, (await olga.GetAsync("/api/devices")).StatusCode);

            // A new password (printed by the command) replaces the old one.
            (code, output) = await Cli("user", "passwd", "olga");
            Assert.True(code == 0, output);
            var password = output[(output.IndexOf("changed:", StringComparison.Ordinal) + "changed:".Length)..].Trim();
            using (var refused = await server.Client.PostAsync("/red/auth/token", Form("olga", "operator-pw-1")))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            }
            using var viewer = server.Authorized(await server.TokenAsync("olga", password, "read"));
            Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/devices")).StatusCode);

            // Deleted: refused. A user that is not there is a clear error (exit code 1), not a crash.
            (code, output) = await Cli("user", "delete", "olga");
            Assert.True(code == 0, output);
            Assert.Equal(HttpStatusCode.Unauthorized, (await viewer.GetAsync("/api/devices")).StatusCode);
            (code, output) = await Cli("user", "delete", "olga");
            Assert.Equal(1, code);
            Assert.DoesNotContain("Unhandled", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static FormUrlEncodedContent Form(string user, string password) => new(new Dictionary<string, string>
    {
        ["client_id"] = "node-red-admin", ["grant_type"] = "password", ["scope"] = "*", ["username"] = user, ["password"] = password,
    });
}
