using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Nodes.Core.Tests.Function;

/// <summary>
/// A delay node (id "n") on a fake clock: nothing fires until the test advances it, and every input is awaited until the
/// node has handled it (its status after each input), so an advance never races the message it is meant to time.
/// </summary>
internal sealed class DelayRig : IAsyncDisposable
{
    private readonly Channel<NodeStatus> _statuses = Channel.CreateUnbounded<NodeStatus>();
    private IDisposable? _subscription;

    private DelayRig(FlowHarness harness) => H = harness;

    public FlowHarness H { get; private set; }

    public static async Task<DelayRig> StartAsync(string nodeJson, int outputs = 1, string extra = "")
    {
        var time = new FakeTimeProvider();
        var harness = await Flows.One(nodeJson, outputs, extra, s => s.AddSingleton<TimeProvider>(time));
        var rig = new DelayRig(harness);
        rig._subscription = harness.Events.Status.Subscribe(e =>
        {
            if (e.NodeId == "n")
            {
                rig._statuses.Writer.TryWrite(e.Status);
            }
        });
        rig.Clock = time;
        return rig;
    }

    /// <summary>The clock the node runs on.</summary>
    public FakeTimeProvider Clock { get; private set; } = null!;

    /// <summary>Sends a message and waits until the node handled it (the timeout, rate-queue and topic modes set a status at the end of each input).</summary>
    public async Task InputAsync(string json)
    {
        while (_statuses.Reader.TryRead(out _))
        {
        }
        H.SendJson("n", json);
        using var cts = new CancellationTokenSource(FlowHarness.DefaultTimeout);
        await _statuses.Reader.ReadAsync(cts.Token);
    }

    /// <summary>Sends a message without waiting (modes that set no status: what they send shows they handled it).</summary>
    public void Send(string json) => H.SendJson("n", json);

    /// <summary>Moves the node's clock; the timers due fire on this call, before it returns.</summary>
    public Task AdvanceAsync(TimeSpan by) => Task.Run(() => Clock.Advance(by));

    public Task AdvanceAsync(double ms) => AdvanceAsync(TimeSpan.FromMilliseconds(ms));

    /// <summary>The payload (as JSON text) of the next message at a helper.</summary>
    public async Task<string> NextAsync(string helper = "o0") => (await H.NextAsync(helper)).Payload?.ToJsonString() ?? "undefined";

    public async Task<string> TakeAsync(int count, string helper = "o0") =>
        string.Join(",", (await H.TakeAsync(helper, count)).Select(m => m.Payload?.ToJsonString() ?? "undefined"));

    public Task NothingYetAsync(string helper = "o0") => H.AssertNothingYetAsync(helper);

    public async ValueTask DisposeAsync()
    {
        _subscription?.Dispose();
        await H.DisposeAsync();
    }
}
