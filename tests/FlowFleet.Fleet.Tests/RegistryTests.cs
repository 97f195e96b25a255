using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Tests;

/// <summary>The registry on both providers: SQLite (the default) and PostgreSQL (a throwaway server, see <see cref="PostgresServer"/>).</summary>
public sealed class RegistryTests
{
    [Theory]
    [MemberData(nameof(PostgresServer.Providers), MemberType = typeof(PostgresServer))]
    public async Task Registry_survives_a_restart(string provider)
    {
        string db;
        string id;
        var postgres = await PostgresServer.DatabaseAsync(provider);
        await using (var host = await FleetHost.StartAsync(postgres: postgres))
        {
            db = host.DbPath;
            await using var fleet = new SimFleet(host.ShellyUrl, 1, "plus2pm-cover", FleetHost.FastSim);
            id = fleet.Devices.Single().Id;
            await fleet.StartAsync();
            await Poll.UntilAsync(() => host.Hub.IsOnline(id) && host.Devices.Get(id)!.Config is not null, "online");
            await host.Groups.CreateGroupAsync("blinds");
            await host.Groups.SetMembershipAsync("blinds", id, true);
            await host.Devices.SetTagsAsync(id, ["south", "floor-1"]);
            await host.Devices.SetNameAsync(id, "Living room blind");
            await host.Devices.SetDesiredAsync(id, new JsonObject { ["cover:0"] = new JsonObject { ["current_pos"] = 20 } });
        }
        await using (var again = await FleetHost.StartAsync(dbPath: db, postgres: postgres))
        {
            var d = again.Devices.Get(id)!;
            Assert.Equal("Living room blind", d.Name);
            Assert.Equal("Plus2PM", d.App);
            Assert.Equal(["south", "floor-1"], d.Tags);
            Assert.Equal(["blinds"], again.Groups.GroupsOf(id));
            Assert.Equal(20, d.Desired!["cover:0"]!["current_pos"]!.GetValue<int>());
            Assert.NotNull(d.Config!["cover:0"]);
            Assert.NotNull(d.Status["cover:0"]);
            Assert.False(d.Online);
            Assert.Equal(AdmissionStates.Accepted, d.Admission);
            Assert.Equal("websocket", d.Transport); // stored with the record (issue 18), so the Devices page shows it offline
            Assert.Contains(await again.Events.EventLogAsync(id, 50), e => e.Kind == "connect");
        }
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Providers), MemberType = typeof(PostgresServer))]
    public async Task Queued_events_survive_a_write_cancelled_by_shutdown(string provider)
    {
        // The background writer drains the queues and then writes; shutdown cancels its token. A cancelled write used to
        // drop what it had drained (the "connect" event was missing after a restart on a loaded machine).
        await using var host = await FleetHost.StartAsync(postgres: await PostgresServer.DatabaseAsync(provider));
        host.Events.LogEvent("dev-a", "connect", null, null, null);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        try
        {
            await host.Writer.WriteQueuedAsync(cancelled.Token);
        }
        catch (OperationCanceledException)
        {
        }
        await host.Writer.WriteQueuedAsync();
        Assert.Contains(await host.Events.EventLogAsync("dev-a", 10), e => e.Kind == "connect");
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Providers), MemberType = typeof(PostgresServer))]
    public async Task Query_filters_sorts_and_pages(string provider)
    {
        await using var host = await FleetHost.StartAsync(postgres: await PostgresServer.DatabaseAsync(provider));
        await using var fleet = new SimFleet(host.ShellyUrl, 12, "mix", FleetHost.FastSim);
        await fleet.StartAsync();
        await Poll.UntilAsync(() => host.Devices.All.Count(d => d.Model is not null) >= 11, "devices identified");
        var (plugs, total) = host.Devices.Query(new DeviceQuery { Model = "Plus1PM", Limit = 2, Sort = "-id" });
        Assert.Equal(5, total);
        Assert.Equal(2, plugs.Count);
        Assert.True(string.CompareOrdinal(plugs[0].Id, plugs[1].Id) > 0);
        var (found, _) = host.Devices.Query(new DeviceQuery { Search = "c0ffee000009" });
        Assert.Equal("Pro3EM", Assert.Single(found).App);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Providers), MemberType = typeof(PostgresServer))]
    public async Task Retention_drops_old_telemetry(string provider)
    {
        await using var host = await FleetHost.StartAsync(o => o.TelemetryRetention = TimeSpan.FromHours(1), postgres: await PostgresServer.DatabaseAsync(provider));
        host.Devices.Touch("dev-1", out _);
        host.Telemetry.RecordPoint("dev-1", "switch:0.apower", 5, DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeMilliseconds());
        host.Telemetry.RecordPoint("dev-1", "switch:0.apower", 7);
        await host.Writer.WriteQueuedAsync();
        Assert.True(await host.Telemetry.ApplyRetentionAsync() >= 1);
        var points = await host.Telemetry.TelemetryAsync("dev-1", "switch:0.apower", 0, long.MaxValue, 1000);
        Assert.Equal(7, Assert.Single(points).Avg);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Providers), MemberType = typeof(PostgresServer))]
    public async Task Retention_deletes_in_batches_and_leaves_the_database_writable_between_them(string provider)
    {
        await using var host = await FleetHost.StartAsync(o => o.TelemetryRetention = TimeSpan.FromHours(1), postgres: await PostgresServer.DatabaseAsync(provider));
        host.Devices.Touch("dev-1", out _);
        var old = DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeMilliseconds();
        for (var i = 0; i < 250; i++)
        {
            host.Telemetry.RecordPoint("dev-1", "switch:0.apower", i, old + i);
        }
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        host.Telemetry.RecordPoint("dev-1", "switch:0.apower", 1000, now);
        await host.Writer.WriteQueuedAsync();

        // Between two batches the record writer can store what devices report (one DELETE of all old rows held the write
        // lock throughout); what it stores then is new, so the retention leaves it.
        var store = (TelemetryStore)host.Telemetry;
        store.RetentionBatch = 100;
        var pauses = 0;
        store.BetweenRetentionBatches = async () =>
        {
            pauses++;
            host.Telemetry.RecordPoint("dev-1", "switch:0.apower", 2000 + pauses, now + pauses);
            await host.Writer.WriteQueuedAsync();
        };
        Assert.Equal(250, await store.ApplyRetentionAsync());
        Assert.Equal(2, pauses);
        var points = await host.Telemetry.TelemetryAsync("dev-1", "switch:0.apower", 0, long.MaxValue, 1);
        Assert.Equal(new double[] { 1000, 2001, 2002 }, points.Select(p => p.Avg).Order());
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Providers), MemberType = typeof(PostgresServer))]
    public async Task Event_log_trim_keeps_the_newest_events_of_each_device(string provider)
    {
        await using var host = await FleetHost.StartAsync(o => o.EventLogPerDevice = 3, postgres: await PostgresServer.DatabaseAsync(provider));
        for (var i = 0; i < 5; i++)
        {
            host.Events.LogEvent("dev-a", "event", null, $"a{i}", null);
        }
        host.Events.LogEvent("dev-b", "event", null, "b0", null);
        await host.Writer.WriteQueuedAsync();
        Assert.Equal(2, await host.Events.TrimAsync());
        Assert.Equal(["a4", "a3", "a2"], (await host.Events.EventLogAsync("dev-a", 10)).Select(e => e.Event));
        Assert.Equal(["b0"], (await host.Events.EventLogAsync("dev-b", 10)).Select(e => e.Event));
    }
}
