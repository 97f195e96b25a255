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

    /// <summary>
    /// Queues a write after the ones already queued, and after <paramref name="after"/> when given (a deploy's answer: a
    /// thread woken before it is out takes a core from it); <paramref name="record"/> must not throw (it logs instead).
    /// </summary>
    public void Enqueue(Func<Task> record, Task? after = null)
    {
        lock (_gate)
        {
            var previous = _tail;
            _tail = after is { IsCompleted: false } ? RecordAfterAsync(previous, after, record) : Task.Run(async () =>
            {
                await previous.ConfigureAwait(false);
                await record().ConfigureAwait(false);
            }, CancellationToken.None);
        }
    }

    private static async Task RecordAfterAsync(Task previous, Task after, Func<Task> record)
    {
        // Nothing is scheduled until `after` completes; then the write goes to the pool, off the thread that completed it.
        await after.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
        await previous.ConfigureAwait(false);
        await record().ConfigureAwait(false);
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
