using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Cluster;
using FlowFleet.Fleet.Registry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Fleet.Tests.Cluster;

/// <summary>Two instances on one PostgreSQL store, joined through a real nats-server.</summary>
public sealed class ClusterStoreTests
{
    [Fact]
    public async Task An_instance_mirroring_another_instances_device_leaves_its_row_in_the_shared_store_alone()
    {
        await using var pair = await ClusterPair.StartAsync(postgres: await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
        var (a, b) = (pair.A, pair.B);

        var token = await a.Tokens.CreateTokenAsync("site");
        await using var fleet = new SimFleet(a.ShellyUrl + "?token=" + token.Token, 1, "plus1pm", FleetHost.FastSim);
        var id = fleet.Devices.Single().Id;
        await fleet.StartAsync();
        await Poll.UntilAsync(() => a.Hub.IsOnline(id) && a.Devices.Get(id) is { TokenHash: not null, Info: not null, Config: not null }, "device admitted on A with its token");
        await Poll.UntilAsync(() => b.Devices.Get(id)?.Online == true, "B mirrors the device");
        await a.Devices.FlushAsync();

        // B's writer runs over its mirror (which knows no token hash, info or config): the owner's row must stay whole.
        await b.Devices.FlushAsync();
        var factory = a.Services.GetRequiredService<IDbContextFactory<FleetDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var row = await db.Devices.AsNoTracking().SingleAsync(r => r.Id == id);
        Assert.Equal(a.Devices.Get(id)!.TokenHash, row.TokenHash);
        Assert.NotNull(row.InfoJson);
        Assert.NotNull(row.ConfigJson);
        Assert.Equal("SNSW-001P16EU", row.Model);
    }

    [Fact]
    public async Task A_user_edit_made_through_another_instance_survives_the_owners_next_write_of_the_device()
    {
        await using var pair = await ClusterPair.StartAsync(postgres: await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
        var (a, b) = (pair.A, pair.B);
        await using var fleet = new SimFleet(a.ShellyUrl, 1, "plus1pm", FleetHost.FastSim);
        var id = fleet.Devices.Single().Id;
        await fleet.StartAsync();
        await Poll.UntilAsync(() => a.Hub.IsOnline(id) && a.Devices.Get(id) is { Info: not null }, "device admitted on A");
        await Poll.UntilAsync(() => b.Devices.Get(id)?.Online == true, "B mirrors the device");
        await a.Devices.FlushAsync();

        // A user names and tags the device through B. A has not read the edit back yet (nothing tells it in this host: the
        // server's ClusterRegistry does, a moment later) — the window in which the owner writes the device's row.
        await b.Devices.SetNameAsync(id, "Kitchen");
        await b.Devices.SetTagsAsync(id, ["cluster"]);
        var state = a.Devices.Get(id)!;
        Assert.NotEqual("Kitchen", state.Name);
        // The device reports a new firmware: A, its owner, writes its row.
        var info = (JsonObject)state.Info!.DeepClone();
        info["ver"] = "9.9.9";
        a.Devices.ApplyIdentity(state, info, null, null, null);
        await a.Devices.FlushAsync();

        var factory = a.Services.GetRequiredService<IDbContextFactory<FleetDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var row = await db.Devices.AsNoTracking().SingleAsync(r => r.Id == id);
        Assert.Equal(("9.9.9", "Kitchen", "cluster"), (row.FirmwareVersion, row.Name, row.Tags));
    }

    [Fact]
    public async Task A_device_moving_to_another_instance_keeps_its_record_and_its_id_stays_proven()
    {
        await using var pair = await ClusterPair.StartAsync(fleet: o => o.Admission = "manual",
            postgres: await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
        var (a, b) = (pair.A, pair.B);

        var token = await a.Tokens.CreateTokenAsync("site");
        var onA = new SimFleet(a.ShellyUrl + "?token=" + token.Token, 1, "plus1pm", FleetHost.FastSim);
        var id = onA.Devices.Single().Id;
        await onA.StartAsync();
        await Poll.UntilAsync(() => a.Hub.IsOnline(id) && a.Devices.Get(id) is { TokenHash: not null, Info: not null }, "device admitted on A with its token");
        await a.Devices.SetTagsAsync(id, ["roof"]);
        await a.Devices.SetPasswordAsync(id, "device-secret");
        await a.Devices.FlushAsync();
        await Poll.UntilAsync(() => b.Devices.Get(id)?.Online == true, "B mirrors the device");

        // On B, a connection claiming the id without the token is a claim, as it would be on A.
        await using (var impostor = new SimFleet(b.ShellyUrl, 1, "plus1pm", FleetHost.FastSim))
        {
            await impostor.StartAsync();
            await Poll.UntilAsync(() => b.Hub.Claims.Any(c => c.Id == id), "the impostor waits as a claim on B");
            Assert.False(b.Hub.IsOnline(id));
        }

        // The device itself moves to B (its token proves it): B takes it over with the owner's record, and writes it whole.
        await onA.DisposeAsync();
        await using var onB = new SimFleet(b.ShellyUrl + "?token=" + token.Token, 1, "plus1pm", FleetHost.FastSim);
        await onB.StartAsync();
        await Poll.UntilAsync(() => b.Hub.IsOnline(id), "device online on B");
        await b.Devices.FlushAsync();
        var factory = b.Services.GetRequiredService<IDbContextFactory<FleetDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var row = await db.Devices.AsNoTracking().SingleAsync(r => r.Id == id);
        Assert.Equal(EnrollmentTokenStore.HashToken(token.Token), row.TokenHash);
        Assert.Equal("roof", row.Tags);
        Assert.Equal("device-secret", row.Password);
        Assert.Equal(["roof"], b.Devices.Get(id)!.Tags);
    }
}
