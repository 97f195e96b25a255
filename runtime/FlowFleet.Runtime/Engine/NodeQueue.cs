using System.Threading.Tasks.Sources;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Engine;

/// <summary>
/// A node's bounded input queue: many writers, one reader (the node's loop), the subset of a bounded channel the engine
/// uses. Why not <c>Channel.CreateBounded</c>: a full deploy puts 1,000 of them in place and completes the 1,000 it
/// replaces, and each channel cost ~850 bytes before its first message (the channel, its reader and writer, four cached
/// wait operations, its deque) plus two <c>ChannelClosedException</c>s allocated by every completion — about 1 MB of a
/// full deploy's allocations, most of them for nodes that are idle until the next deploy replaces them. This one holds a
/// lock, a ring of messages that grows as messages wait, and the reader's wait; a full queue's writers (rare) allocate
/// their own waits.
/// </summary>
internal sealed class NodeQueue(int capacity) : IValueTaskSource<bool>
{
    // A Lock, not the queue's own monitor: a monitor that is once contended (its writer and its reader meet, as they do
    // under load) moves to a sync block and every later enter and exit goes through the runtime's slow path — a process
    // whose busy queues got there ran the throughput bench at ~350k msgs/s instead of ~530k, at ~45 % more CPU per message.
    private readonly Lock _gate = new();

    private FlowMessage?[] _items = [];
    private int _head;
    private int _count;
    private bool _completed;
    // The reader's wait: reset each time the reader waits; set (off this thread) by the write or completion that ends it.
    private ManualResetValueTaskSourceCore<bool> _readerWait = new() { RunContinuationsAsynchronously = true };
    private bool _readerWaiting;
    private List<TaskCompletionSource<bool>>? _writers;

    /// <summary>Messages waiting (read without the lock: a figure for metrics).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Adds a message unless the queue is full or completed; wakes the reader waiting for one.</summary>
    public bool TryWrite(FlowMessage msg)
    {
        lock (_gate)
        {
            if (_completed || _count >= capacity)
            {
                return false;
            }
            if (_count == _items.Length)
            {
                Grow();
            }
            _items[(_head + _count) % _items.Length] = msg;
            Volatile.Write(ref _count, _count + 1);
            if (!_readerWaiting)
            {
                return true;
            }
            _readerWaiting = false;
        }
        // Its continuation runs on the pool, never on the writer's thread (as the channel ran it).
        _readerWait.SetResult(true);
        return true;
    }

    /// <summary>Takes the oldest message; wakes the writers waiting for room.</summary>
    public bool TryRead(out FlowMessage msg)
    {
        List<TaskCompletionSource<bool>>? writers;
        lock (_gate)
        {
            if (_count == 0)
            {
                msg = null!;
                return false;
            }
            msg = _items[_head]!;
            _items[_head] = null;
            _head = (_head + 1) % _items.Length;
            Volatile.Write(ref _count, _count - 1);
            writers = _writers;
            _writers = null;
        }
        Wake(writers, true);
        return true;
    }

    /// <summary>
    /// True once a message waits, false once the queue is completed and empty. One reader: it calls this again only after
    /// the last wait ended.
    /// </summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_gate)
        {
            if (_count > 0)
            {
                return new(true);
            }
            if (_completed)
            {
                return new(false);
            }
            _readerWait.Reset();
            _readerWaiting = true;
            return new(this, _readerWait.Version);
        }
    }

    /// <summary>True once there is room (a write may still lose it to another writer), false once the queue is completed.</summary>
    public ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<bool>(cancellationToken);
        }
        TaskCompletionSource<bool> wait;
        lock (_gate)
        {
            if (_completed)
            {
                return new(false);
            }
            if (_count < capacity)
            {
                return new(true);
            }
            wait = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            (_writers ??= []).Add(wait);
        }
        if (cancellationToken.CanBeCanceled)
        {
            // Given up: out of the list, so a queue that stays full does not collect abandoned waits. The registration ends
            // with the caller's token source.
            cancellationToken.UnsafeRegister(static (state, token) =>
            {
                var (queue, wait) = ((NodeQueue, TaskCompletionSource<bool>))state!;
                lock (queue._gate)
                {
                    queue._writers?.Remove(wait);
                }
                wait.TrySetCanceled(token);
            }, (this, wait));
        }
        return new(wait.Task);
    }

    /// <summary>
    /// No more writes: the reader's wait ends (false once the queue is empty; its continuation runs on this thread), as do
    /// the writers'.
    /// </summary>
    public void Complete()
    {
        List<TaskCompletionSource<bool>>? writers;
        bool wakeReader;
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }
            _completed = true;
            wakeReader = _readerWaiting;
            _readerWaiting = false;
            writers = _writers;
            _writers = null;
        }
        if (wakeReader)
        {
            // Only a closing node completes its queue, and its loop then just ends (it checks the node's closing first):
            // ended here, on the closing thread, instead of as one thread-pool item per node (1,000 for a full deploy,
            // each waiting for a time slice on a loaded machine while the deploy answers).
            _readerWait.RunContinuationsAsynchronously = false;
            _readerWait.SetResult(false);
        }
        Wake(writers, false);
    }

    private static void Wake(List<TaskCompletionSource<bool>>? writers, bool result)
    {
        if (writers is null)
        {
            return;
        }
        foreach (var w in writers)
        {
            w.TrySetResult(result);
        }
    }

    private void Grow()
    {
        var grown = new FlowMessage?[Math.Min(capacity, Math.Max(4, _items.Length * 2))];
        for (var i = 0; i < _count; i++)
        {
            grown[i] = _items[(_head + i) % _items.Length];
        }
        _items = grown;
        _head = 0;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _readerWait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _readerWait.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _readerWait.OnCompleted(continuation, state, token, flags);
}
