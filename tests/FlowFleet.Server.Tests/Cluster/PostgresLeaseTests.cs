using FlowFleet.Fleet.Tests;
using FlowFleet.Server.Cluster;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace FlowFleet.Server.Tests.Cluster;

/// <summary>
/// Leases of scheduled nodes on a real PostgreSQL, each instance on its own fake clock (no sleeps). Expiries are the
/// database's: time passing there is simulated by moving the stored expiries back (<see cref="AgeAsync"/>).
/// </summary>
public sealed class PostgresLeaseTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);

    private static async Task<ClusterStore> StoreAsync() =>
        new(NpgsqlDataSource.Create(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync()));

    private static PostgresLeases Leases(ClusterStore store, string name, FakeTimeProvider time) =>
        new(store, name, "t:", Ttl, time, NullLogger<PostgresLeases>.Instance);

    [Fact]
    public async Task One_instance_holds_a_lease_and_another_takes_it_within_a_ttl_when_the_holder_dies()
    {
        var store = await StoreAsync();
        var start = new DateTimeOffset(2026, 12, 7, 3, 0, 0, TimeSpan.Zero);
        var clockA = new FakeTimeProvider(start);
        var clockB = new FakeTimeProvider(start);
        await using var a = Leases(store, "a", clockA);
        await using var b = Leases(store, "b", clockB);

        using var leaseA = a.Acquire("inject1");
        await leaseA.FirstAttempt.WaitAsync(TimeSpan.FromSeconds(30));
        using var leaseB = b.Acquire("inject1");
        await leaseB.FirstAttempt.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(leaseA.Held);
        Assert.False(leaseB.Held);

        // Both renew for a while: the holder keeps it, the other never gets it.
        for (var i = 0; i < 6; i++)
        {
            clockA.Advance(Ttl / 3);
            clockB.Advance(Ttl / 3);
            await a.RoundAsync();
            await b.RoundAsync();
            Assert.True(leaseA.Held, $"A holds after {i + 1} rounds");
            Assert.False(leaseB.Held, $"B does not hold after {i + 1} rounds");
        }

        // A dies (its clock and renewals stop). B takes the lease only once A's expiry has passed in the database.
        clockB.Advance(Ttl / 2);
        await b.RoundAsync();
        Assert.False(leaseB.Held);
        await AgeAsync(store, Ttl);
        await b.RoundAsync();
        Assert.True(leaseB.Held);

        // A comes back (a paused process): by its own clock its time ran out, and renewing fails since B holds it.
        clockA.Advance(Ttl);
        Assert.False(leaseA.Held);
        await a.RoundAsync();
        Assert.False(leaseA.Held);
        Assert.Equal(["inject1"], b.HeldKeys);
    }

    [Fact]
    public async Task A_lease_given_up_is_taken_at_the_next_round_and_a_redeployed_node_keeps_its_lease()
    {
        var store = await StoreAsync();
        var start = new DateTimeOffset(2026, 12, 7, 3, 0, 0, TimeSpan.Zero);
        var clockA = new FakeTimeProvider(start);
        var clockB = new FakeTimeProvider(start);
        await using var a = Leases(store, "a", clockA);
        await using var b = Leases(store, "b", clockB);

        var old = a.Acquire("timer1");
        await old.FirstAttempt.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(old.Held);
        // A redeploy starts the new node before the old one's lease is released: the new one keeps holding it.
        using var renewed = a.Acquire("timer1");
        old.Dispose();
        await a.RoundAsync();
        Assert.True(renewed.Held);

        using var other = b.Acquire("timer1");
        await other.FirstAttempt.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(other.Held);

        // Removed from the flows on A (the node closes): B takes it at its next round, without waiting out the TTL.
        renewed.Dispose();
        await Poll.UntilAsync(async () =>
        {
            await b.RoundAsync();
            return other.Held;
        }, "B takes the released lease");
        Assert.True(clockB.GetUtcNow() - start < Ttl);
    }

    [Fact]
    public async Task Instances_whose_clocks_disagree_by_hours_still_never_hold_a_lease_together()
    {
        var store = await StoreAsync();
        // A's clock is an hour behind, B's an hour ahead. With expiries by the instances' clocks A wrote one that had passed
        // an hour ago for B, and B took the lease while A still held it.
        var clockA = new FakeTimeProvider(DateTimeOffset.UtcNow - TimeSpan.FromHours(1));
        var clockB = new FakeTimeProvider(DateTimeOffset.UtcNow + TimeSpan.FromHours(1));
        await using var a = Leases(store, "a", clockA);
        await using var b = Leases(store, "b", clockB);

        using var leaseA = a.Acquire("cron1");
        await leaseA.FirstAttempt.WaitAsync(TimeSpan.FromSeconds(30));
        using var leaseB = b.Acquire("cron1");
        await leaseB.FirstAttempt.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(leaseA.Held);
        Assert.False(leaseB.Held);
        // The expiry is the database's now plus the TTL, whatever A's clock says.
        var left = await LeftAsync(store);
        Assert.True(left > TimeSpan.Zero && left <= Ttl, $"expiry {left} from the database's now");
        for (var i = 0; i < 6; i++)
        {
            clockA.Advance(Ttl / 3);
            clockB.Advance(Ttl / 3);
            await b.RoundAsync();
            await a.RoundAsync();
            Assert.True(leaseA.Held, $"A holds after {i + 1} rounds");
            Assert.False(leaseB.Held, $"B does not hold after {i + 1} rounds");
        }

        // A dies: B, an hour ahead, takes over when the database says A's lease ran out, not before.
        await b.RoundAsync();
        Assert.False(leaseB.Held);
        await AgeAsync(store, Ttl);
        await b.RoundAsync();
        Assert.True(leaseB.Held);
        // A, an hour behind, is back: it counted its hold on its own monotonic clock, which has run out.
        clockA.Advance(Ttl);
        Assert.False(leaseA.Held);
        await a.RoundAsync();
        Assert.False(leaseA.Held);
    }

    /// <summary>Moves every stored expiry back by <paramref name="by"/>: as if that much time passed in the database.</summary>
    private static async Task AgeAsync(ClusterStore store, TimeSpan by)
    {
        await using var connection = await store.OpenAsync();
        await using var cmd = ClusterStore.Command(connection, "UPDATE ff_leases SET expires_at = expires_at - $1", by);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<TimeSpan> LeftAsync(ClusterStore store)
    {
        await using var connection = await store.OpenAsync();
        await using var cmd = ClusterStore.Command(connection, "SELECT expires_at - now() FROM ff_leases");
        return (TimeSpan)(await cmd.ExecuteScalarAsync())!;
    }
}
