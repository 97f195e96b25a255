using FlowFleet.Fleet.Cluster;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Fleet.Tests.Cluster;

/// <summary>
/// Two fleet hosts, A and B, joined through their own nats-server on a fresh subject (and on one PostgreSQL database when
/// given one); disposed in reverse order.
/// </summary>
internal sealed class ClusterPair(NatsServer nats, FleetHost a, FleetHost b) : IAsyncDisposable
{
    public FleetHost A => a;

    public FleetHost B => b;

    public NatsCluster ClusterA => a.Services.GetRequiredService<NatsCluster>();

    public NatsCluster ClusterB => b.Services.GetRequiredService<NatsCluster>();

    public static async Task<ClusterPair> StartAsync(Action<ClusterOptions>? cluster = null, Action<FleetOptions>? fleet = null,
        string? postgres = null)
    {
        var nats = await NatsServer.StartAsync();
        var subject = "ff" + Guid.NewGuid().ToString("N")[..6];
        void Join(IServiceCollection s, string name) => s.AddFleetCluster(o =>
        {
            o.Nats = nats.Url;
            o.Instance = name;
            o.Subject = subject;
            // Long enough that a loaded machine does not delay a beat past the three-beat expiry.
            o.Heartbeat = TimeSpan.FromSeconds(1);
            cluster?.Invoke(o);
        });
        var a = await FleetHost.StartAsync(fleet, postgres: postgres, services: s => Join(s, "a"));
        var b = await FleetHost.StartAsync(fleet, postgres: postgres, services: s => Join(s, "b"));
        var pair = new ClusterPair(nats, a, b);
        await pair.ClusterA.Ready.WaitAsync(TimeSpan.FromSeconds(10));
        await pair.ClusterB.Ready.WaitAsync(TimeSpan.FromSeconds(10));
        return pair;
    }

    public async ValueTask DisposeAsync()
    {
        await b.DisposeAsync();
        await a.DisposeAsync();
        await nats.DisposeAsync();
    }
}
