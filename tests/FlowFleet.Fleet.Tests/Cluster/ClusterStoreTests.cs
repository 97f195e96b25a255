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
        await using var nats = await NatsServer.StartAsync();
        var store = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        var subject = "ff" + Guid.NewGuid().ToString("N")[..6];
        void Join(IServiceCollection s, string name) => s.AddFleetCluster(o => { o.Nats = nats.Url; o.Instance = name; o.Subject = subject; });
        await using var a = await FleetHost.StartAsync(postgres: store, services: s => Join(s, "a"));
        await using var b = await FleetHost.StartAsync(postgres: store, services: s => Join(s, "b"));
        await a.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(10));
        await b.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(10));

        var token = await a.Registry.CreateTokenAsync("site");
        await using var fleet = new SimFleet(a.ShellyUrl + "?token=" + token.Token, 1, "plus1pm", FleetHost.FastSim);
        var id = fleet.Devices.Single().Id;
        await fleet.StartAsync();
        await Poll.UntilAsync(() => a.Hub.IsOnline(id) && a.Registry.Get(id) is { TokenHash: not null, Info: not null, Config: not null }, "device admitted on A with its token");
        await Poll.UntilAsync(() => b.Registry.Get(id)?.Online == true, "B mirrors the device");
        await a.Registry.FlushAsync();

        // B's writer runs over its mirror (which knows no token hash, info or config): the owner's row must stay whole.
        await b.Registry.FlushAsync();
        var factory = a.Services.GetRequiredService<IDbContextFactory<FleetDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var row = await db.Devices.AsNoTracking().SingleAsync(r => r.Id == id);
        Assert.Equal(a.Registry.Get(id)!.TokenHash, row.TokenHash);
        Assert.NotNull(row.InfoJson);
        Assert.NotNull(row.ConfigJson);
        Assert.Equal("SNSW-001P16EU", row.Model);
    }
}
