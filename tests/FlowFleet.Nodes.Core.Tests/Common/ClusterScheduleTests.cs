using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Nodes.Core.Tests.Common;

/// <summary>Scheduled nodes in a cluster fire only while this instance holds their lease, unless they run on every instance.</summary>
public sealed class ClusterScheduleTests
{
    private sealed class FakeLeases : IClusterLeases
    {
        public volatile bool Held;
        public readonly List<string> Acquired = [];
        public int Released;

        public IClusterLease Acquire(string key)
        {
            lock (Acquired)
            {
                Acquired.Add(key);
            }
            return new Lease(this);
        }

        private sealed class Lease(FakeLeases owner) : IClusterLease
        {
            public bool Held => owner.Held;

            public Task FirstAttempt => Task.CompletedTask;

            public void Dispose() => Interlocked.Increment(ref owner.Released);
        }
    }

    [Fact]
    public async Task A_timer_fires_only_while_its_lease_is_held_and_gives_it_up_when_closed()
    {
        var time = new FakeTimeProvider();
        var leases = new FakeLeases();
        var h = await Flows.One("""{"type":"timer","mode":"interval","interval":60,"onPayload":"tick","onPayloadType":"str","startOnDeploy":true}""",
            services: s => s.AddSingleton<TimeProvider>(time).AddSingleton<IClusterLeases>(leases));
        await using (h)
        {
            Assert.Equal(["n"], leases.Acquired);
            await Task.Run(() => time.Advance(TimeSpan.FromSeconds(60)));
            await h.AssertNothingYetAsync("o0");
            leases.Held = true;
            await Task.Run(() => time.Advance(TimeSpan.FromSeconds(60)));
            Assert.Equal("tick", (await h.NextAsync("o0")).Payload!.GetValue<string>());
            leases.Held = false;
            await Task.Run(() => time.Advance(TimeSpan.FromSeconds(60)));
            await h.AssertNothingYetAsync("o0");
        }
        Assert.Equal(1, leases.Released);
    }

    [Fact]
    public async Task A_timer_set_to_run_on_every_instance_takes_no_lease()
    {
        var time = new FakeTimeProvider();
        var leases = new FakeLeases();
        await using var h = await Flows.One("""{"type":"timer","mode":"interval","interval":60,"onPayload":"tick","onPayloadType":"str","startOnDeploy":true,"everyInstance":true}""",
            services: s => s.AddSingleton<TimeProvider>(time).AddSingleton<IClusterLeases>(leases));
        await Task.Run(() => time.Advance(TimeSpan.FromSeconds(60)));
        Assert.Equal("tick", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        Assert.Empty(leases.Acquired);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Inject_once_after_deploy_fires_on_the_lease_holder_only(bool held)
    {
        var leases = new FakeLeases { Held = held };
        await using var h = await Flows.One("""{"type":"inject","props":[{"p":"payload","v":"hello","vt":"str"}],"once":true,"onceDelay":0}""",
            services: s => s.AddSingleton<IClusterLeases>(leases));
        Assert.Equal(["n"], leases.Acquired);
        if (held)
        {
            Assert.Equal("hello", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        }
        else
        {
            await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(300));
        }
    }

    [Fact]
    public async Task An_inject_without_a_schedule_takes_no_lease_and_its_button_always_fires()
    {
        var leases = new FakeLeases();
        await using var h = await Flows.One("""{"type":"inject","props":[{"p":"payload","v":"pressed","vt":"str"}]}""",
            services: s => s.AddSingleton<IClusterLeases>(leases));
        Assert.Empty(leases.Acquired);
        var inject = Assert.IsAssignableFrom<FlowFleet.Runtime.Nodes.IInjectable>(h.Engine.GetNode("n"));
        inject.Inject(null);
        Assert.Equal("pressed", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }
}
