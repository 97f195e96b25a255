using FlowFleet.Fleet.Tests;
using FlowFleet.Server.Auth;
using FlowFleet.Server.Cluster;
using Npgsql;

namespace FlowFleet.Server.Tests;

/// <summary>
/// The last admin can't be removed, also when two admins remove each other at the same moment (two browser tabs, two
/// instances of a cluster): the check and the write are one step in the database, so one of the two changes is refused
/// and one admin is left. Before, each change checked "is there another admin?", both saw the other, and both wrote.
/// </summary>
public sealed class LastAdminRaceTests : IDisposable
{
    private const int Rounds = 40;
    private readonly SqliteTempDirectory _dir = new("flowfleet-last-admin-");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("role")]
    [InlineData("delete")]
    public async Task Two_admins_removing_each_other_at_once_leave_one_admin_on_SQLite(string how)
    {
        var file = $"Data Source={Path.Combine(_dir.FullName, "flowfleet.db")}";
        await ServerSqliteStart.EnsureSchemaAsync(file, default);
        await RaceAsync(UserStore.Sqlite(file), how);
    }

    [Theory]
    [InlineData("role")]
    [InlineData("delete")]
    public async Task Two_admins_removing_each_other_at_once_leave_one_admin_on_PostgreSQL(string how)
    {
        await using var db = NpgsqlDataSource.Create(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
        await RaceAsync(UserStore.Postgres(new ClusterStore(db)), how);
    }

    private static async Task RaceAsync(UserStore store, string how)
    {
        var users = new UserService(store);
        for (var round = 0; round < Rounds; round++)
        {
            string[] pair = [$"ada{round}", $"bob{round}"];
            foreach (var name in pair)
            {
                await users.AddAsync(name, Roles.Admin, "admin-password-1");
            }
            // Only this round's pair are admins: the previous round's survivor steps down first.
            if (round > 0)
            {
                var survivor = (await users.ListAsync()).Single(u => u.Role == Roles.Admin && !pair.Contains(u.Name)).Name;
                await users.SetRoleAsync(survivor, Roles.Viewer);
            }

            using var go = new Barrier(2);
            var removals = pair.Select(name => Task.Run(async () =>
            {
                go.SignalAndWait();
                try
                {
                    await (how == "delete" ? users.DeleteAsync(name) : users.SetRoleAsync(name, Roles.Viewer));
                    return true;
                }
                catch (InvalidOperationException ex) when (ex.Message.Contains("last admin", StringComparison.Ordinal))
                {
                    return false;
                }
            })).ToList();
            var done = await Task.WhenAll(removals);

            Assert.Equal(1, done.Count(d => d));
            var admins = (await users.ListAsync()).Where(u => u.Role == Roles.Admin).Select(u => u.Name).ToList();
            Assert.Single(admins);
            Assert.Contains(admins[0], pair);
        }
    }
}
