using System.Text.Json.Nodes;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Runtime.Engine;

/// <summary>The node's queue: sends into it, and holding senders back when it is full (asynchronously for C# nodes, by blocking for scripts and sources).</summary>
internal sealed partial class RunningNode
{
    /// <summary>Queues a message for this node; holds the sender back while the queue is full.</summary>
    public bool Enqueue(FlowMessage msg)
    {
        if (_queue is null || _closing.IsCancellationRequested)
        {
            return false;
        }
        if (TryRunInline(msg))
        {
            return true;
        }
        // Counted as queued from here on, so no later message overtakes it by running inline.
        Interlocked.Increment(ref _queued);
        return Write(msg);
    }

    /// <summary>Queues a message for this node from a source's <c>SendAsync</c>: waits for room without a thread while the queue is full.</summary>
    public ValueTask EnqueueAsync(FlowMessage msg)
    {
        if (_queue is null || _closing.IsCancellationRequested || TryRunInline(msg))
        {
            return ValueTask.CompletedTask;
        }
        Interlocked.Increment(ref _queued);
        if (_queue.TryWrite(msg))
        {
            return ValueTask.CompletedTask;
        }
        _engine.Metrics.CountQueueFull(Spec.Type);
        return WriteAsync(msg);
    }

    /// <summary>The node handling its input on this thread, whose full-queue sends are deferred (null in scripts and sources).</summary>
    [ThreadStatic]
    private static RunningNode? t_handling;

    /// <summary>Set while a script runs: its <c>node.send</c> is synchronous and holds the script back when a queue is full.</summary>
    [ThreadStatic]
    internal static bool t_blockingSends;

    // Sends this node made into full queues while handling its current input, in order; delivered before its next input.
    private List<(RunningNode Target, FlowMessage Msg)>? _pending;

    /// <summary>Puts a counted message into the queue, holding the sender back while the queue is full.</summary>
    private bool Write(FlowMessage msg)
    {
        var sender = t_blockingSends ? null : t_handling;
        if (sender is not null && sender != this && sender._pending is { Count: > 0 })
        {
            // Behind a message already waiting: it keeps its place in line.
            sender._pending.Add((this, msg));
            return true;
        }
        if (_queue!.TryWrite(msg))
        {
            return true;
        }
        _engine.Metrics.CountQueueFull(Spec.Type);
        if (sender is not null && sender != this)
        {
            // A C# node sending while it handles a message: it waits for room asynchronously once its handler returns.
            (sender._pending ??= []).Add((this, msg));
            return true;
        }
        return WriteBlocking(msg);
    }

    /// <summary>Delivers the deferred sends in order, each waiting (without a thread) for room in its target's queue.</summary>
    private async Task FlushPendingAsync()
    {
        var pending = _pending!;
        _pending = null;
        foreach (var (target, msg) in pending)
        {
            await target.WriteAsync(msg).ConfigureAwait(false);
        }
    }

    /// <summary>Writes a counted message, waiting for room up to the queue-full timeout; drops it with an error after that.</summary>
    private async ValueTask WriteAsync(FlowMessage msg)
    {
        if (_queue!.TryWrite(msg))
        {
            return;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        timeout.CancelAfter(_engine.Options.QueueFullTimeout);
        try
        {
            while (await _queue.WaitToWriteAsync(timeout.Token).ConfigureAwait(false))
            {
                if (_queue.TryWrite(msg))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        Dropped();
    }

    private void Dropped()
    {
        Interlocked.Decrement(ref _queued);
        if (_closing.IsCancellationRequested)
        {
            return;
        }
        _engine.Metrics.CountDropped(Spec.Type);
        Error($"Queue full ({_engine.Options.QueueCapacity} messages): message dropped", null);
    }

    /// <summary>A send from a script or a source thread: the sender is held (blocked) until the consumer drained half the queue.</summary>
    private bool WriteBlocking(FlowMessage msg)
    {
        // Scripts call node.send synchronously: block this one until the consumer has drained half the queue.
        // Blocking (not spinning) matters on small machines: a spinning sender burns the core the consumer needs.
        var deadline = Environment.TickCount64 + (long)_engine.Options.QueueFullTimeout.TotalMilliseconds;
        // Made before _senderWaiting is first set, so the loop that sees the flag sees the event.
        var space = Volatile.Read(ref _space);
        if (space is null)
        {
            var made = new ManualResetEventSlim(false, spinCount: 1);
            space = Interlocked.CompareExchange(ref _space, made, null) ?? made;
        }
        while (!_closing.IsCancellationRequested && Environment.TickCount64 <= deadline)
        {
            space.Reset();
            Volatile.Write(ref _senderWaiting, true);
            if (_queue!.TryWrite(msg))
            {
                return true;
            }
            try
            {
                space.Wait(100, _closing.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        Dropped();
        return false;
    }
}
