using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Registry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Fleet.Tests;

/// <summary>
/// The device-write path in plain SQL (<see cref="FleetSql"/>) on both providers: what a flush writes and keeps, the batched
/// records, and that connecting, reporting and storing devices never builds an EF Core context.
/// </summary>
public sealed class DeviceWriteTests
{
    [Theory]
    [MemberData(nameof(PostgresServer.Providers), MemberType = typeof(PostgresServer))]
    public async Task A_flush_writes_what_the_device_reports_and_keeps_what_users_edit(string provider)
    {
        var postgres = await PostgresServer.DatabaseAsync(provider);
        string db;
        await using (var host = await FleetHost.StartAsync(postgres: postgres))
        {
            db = host.DbPath;
            var devices = host.Devices;
            var d = devices.Touch("dev-w", out _);
            devices.ApplyIdentity(d, new JsonObject { ["model"] = "SNSW-001P16EU", ["app"] = "Plus1PM", ["gen"] = 2, ["name"] = "plug" }, null,
                new JsonObject { ["switch:0"] = new JsonObject { ["output"] = true } }, ["Switch.Set", "Shelly.GetStatus"]);
            await devices.FlushAsync();
            await devices.SetNameAsync("dev-w", "Kitchen");
            await devices.SetTagsAsync("dev-w", ["north"]);
            await devices.SetPasswordAsync("dev-w", "secret");
            // The device reports again without a name: the user's name stays, the rest is the device's.
            devices.ApplyIdentity(d, new JsonObject { ["model"] = "SNSW-001P16EU", ["app"] = "Plus1PMv2", ["gen"] = 3 }, null, null, null);
            await devices.FlushAsync();
            // A new device whose first write is a column edit: its whole row is stored.
            await devices.SetPasswordAsync("dev-new", "pw");
        }
        await using (var again = await FleetHost.StartAsync(dbPath: db, postgres: postgres))
        {
            var d = again.Devices.Get("dev-w")!;
            Assert.Equal("Kitchen", d.Name);
            Assert.Equal("Plus1PMv2", d.App);
            Assert.Equal(3, d.Gen);
            Assert.Equal(["north"], d.Tags);
            Assert.Equal("secret", d.Password);
            Assert.Equal(["Switch.Set", "Shelly.GetStatus"], d.Methods);
            Assert.True(d.Status["switch:0"]!["output"]!.GetValue<bool>());
            Assert.InRange(d.FirstSeen, DateTime.UtcNow.AddMinutes(-10), DateTime.UtcNow.AddMinutes(1));
            Assert.Equal("pw", again.Devices.Get("dev-new")!.Password);

            // A name the device reports itself replaces the stored one (as the device's own rename does).
            again.Devices.ApplyIdentity(d, new JsonObject { ["name"] = "renamed on the device" }, null, null, null);
            await again.Devices.FlushAsync();
            await again.Devices.RemoveAsync("dev-new");
        }
        await using (var third = await FleetHost.StartAsync(dbPath: db, postgres: postgres))
        {
            Assert.Equal("renamed on the device", third.Devices.Get("dev-w")!.Name);
            Assert.Null(third.Devices.Get("dev-new"));
        }
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Providers), MemberType = typeof(PostgresServer))]
    public async Task Records_are_written_in_batches_with_every_column(string provider)
    {
        await using var host = await FleetHost.StartAsync(postgres: await PostgresServer.DatabaseAsync(provider));
        // More than one batch of statements (500) for the provider that batches.
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 2000;
        for (var i = 0; i < 1200; i++)
        {
            host.Telemetry.RecordPoint("dev-t", "switch:0.apower", i, ts + i);
        }
        host.Events.LogEvent("dev-t", "event", "input:0", "single_push", new JsonObject { ["id"] = 0 });
        host.Audit.LogCommand("alice", "dev-t", "Switch.Set", new JsonObject { ["on"] = true }, false, "timeout", 12.5);
        host.Audit.LogCommand(null, "dev-t", "Shelly.Reboot", null, true, null, 3);
        // The background writer may have taken part of them meanwhile: wait until both have committed all.
        await host.Writer.WriteQueuedAsync();
        await Poll.UntilAsync(() => host.Writer.TelemetryWritten == 1200 && host.Writer.EventsWritten == 1 && host.Writer.AuditWritten == 2, "all written");
        var points = await host.Telemetry.TelemetryAsync("dev-t", "switch:0.apower", 0, long.MaxValue, 1);
        Assert.Equal(1200, points.Count);
        Assert.Equal(1199, points[^1].Last);
        var e = Assert.Single(await host.Events.EventLogAsync("dev-t", 10));
        Assert.Equal(("event", "input:0", "single_push", "{\"id\":0}"), (e.Kind, e.Component, e.Event, e.DataJson));
        var audit = await host.Audit.AuditLogAsync("dev-t", 10);
        Assert.Equal(2, audit.Count);
        var failed = audit.Single(a => a.Method == "Switch.Set");
        Assert.Equal(("alice", false, "timeout", 12.5, "{\"on\":true}"), (failed.User, failed.Ok, failed.Error, failed.DurationMs, failed.ParamsJson));
        Assert.True(audit.Single(a => a.Method == "Shelly.Reboot").Ok);
    }

    [Fact]
    public async Task Connecting_reporting_and_storing_devices_builds_no_EF_Core_context()
    {
        var contexts = 0;
        await using var host = await FleetHost.StartAsync(services: s =>
        {
            var registered = s.Last(d => d.ServiceType == typeof(IDbContextFactory<FleetDbContext>));
            s.Remove(registered);
            s.AddSingleton<IDbContextFactory<FleetDbContext>>(sp => new Counting((IDbContextFactory<FleetDbContext>)registered.ImplementationFactory!(sp), () => Interlocked.Increment(ref contexts)));
        });
        await using var fleet = new SimFleet(host.ShellyUrl, 3, "mix", FleetHost.FastSim);
        await fleet.StartAsync();
        await Poll.UntilAsync(() => host.Devices.All.Count(d => d.Online && d.Config is not null) == 3, "devices online and identified");
        // Reports arrive and the background writer stores their telemetry (the interval is 0 in tests: every status is
        // sampled) and the connect events; the store writes the identified devices.
        await Poll.UntilAsync(() => host.Writer.TelemetryWritten > 0 && host.Writer.EventsWritten >= 3, "telemetry and events written");
        await host.Devices.FlushAsync();
        await host.Telemetry.ApplyRetentionAsync();
        await host.Events.TrimAsync();
        Assert.Equal(0, Volatile.Read(ref contexts));
        // The UI's reads are EF Core's still: the counter sees them.
        await host.Events.EventLogAsync(fleet.Devices.First().Id, 10);
        Assert.Equal(1, Volatile.Read(ref contexts));
    }

    private sealed class Counting(IDbContextFactory<FleetDbContext> inner, Action created) : IDbContextFactory<FleetDbContext>
    {
        public FleetDbContext CreateDbContext()
        {
            created();
            return inner.CreateDbContext();
        }

        public Task<FleetDbContext> CreateDbContextAsync(CancellationToken cancellationToken = default)
        {
            created();
            return inner.CreateDbContextAsync(cancellationToken);
        }
    }
}
