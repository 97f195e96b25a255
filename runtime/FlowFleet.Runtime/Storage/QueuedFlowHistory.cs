using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Storage;

/// <summary>
/// The deploy history as <see cref="FlowService"/> hands it out. A deploy answers once its flows are saved and running and
/// leaves its version to be written here, off the response path, in deploy order; every read first waits for the versions
/// queued before it, so whoever deployed and then reads the history sees the deploy.
/// </summary>
internal sealed class QueuedFlowHistory(IFlowHistory inner) : IFlowHistory
{
    private readonly Lock _gate = new();
    private Task _tail = Task.CompletedTask;

    public Notifier<FlowVersionInfo> Recorded => inner.Recorded;

    /// <summary>Completes when every version queued so far is written (or its failure logged). Never faults.</summary>
    public Task Written
    {
        get
        {
            lock (_gate)
            {
                return _tail;
            }
        }
    }

    /// <summary>Queues a write after the ones already queued; <paramref name="record"/> must not throw (it logs instead).</summary>
    public void Enqueue(Func<Task> record)
    {
        lock (_gate)
        {
            var previous = _tail;
            _tail = Task.Run(async () =>
            {
                await previous.ConfigureAwait(false);
                await record().ConfigureAwait(false);
            }, CancellationToken.None);
        }
    }

    public async Task<FlowVersionInfo> RecordAsync(JsonArray flows, string rev, string type, DeployInfo? info, CancellationToken cancellationToken = default,
        ReadOnlyMemory<byte> json = default)
    {
        await Written.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await inner.RecordAsync(flows, rev, type, info, cancellationToken, json).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<FlowVersionInfo>> ListAsync(int limit = 1000, CancellationToken cancellationToken = default)
    {
        await Written.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await inner.ListAsync(limit, cancellationToken).ConfigureAwait(false);
    }

    public async Task<FlowVersion?> GetAsync(long version, CancellationToken cancellationToken = default)
    {
        await Written.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await inner.GetAsync(version, cancellationToken).ConfigureAwait(false);
    }

    public async Task<FlowVersion?> FindByRevAsync(string rev, CancellationToken cancellationToken = default)
    {
        await Written.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await inner.FindByRevAsync(rev, cancellationToken).ConfigureAwait(false);
    }
}
