using System.Text.Json.Nodes;
using FlowFleet.Runtime.Engine;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Tests.Engine;

/// <summary>A node's queue on its own: order, bound, the reader's and the writers' waits, completion.</summary>
public sealed class NodeQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static FlowMessage Msg(int n) => new(new JsonObject { ["payload"] = n });

    private static int Payload(FlowMessage m) => (int)m.Data["payload"]!;

    [Fact]
    public async Task The_queue_does_not_lock_on_itself()
    {
        // Its lock is its own: a monitor on the queue object (taken here by someone else) neither blocks it nor, once
        // contended between its writer and its reader, sends every later enter and exit down the runtime's sync-block path.
        var queue = new NodeQueue(8);
        using var taken = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            lock (queue)
            {
                taken.Set();
                release.Wait();
            }
        });
        holder.Start();
        taken.Wait();
        try
        {
            var wrote = await Task.Run(() => queue.TryWrite(Msg(1)) && queue.TryRead(out _)).WaitAsync(Timeout);
            Assert.True(wrote);
        }
        finally
        {
            release.Set();
            holder.Join();
        }
    }

    [Fact]
    public void Messages_come_out_in_order_past_the_ring_growing_and_wrapping()
    {
        var queue = new NodeQueue(8);
        var next = 0;
        var expected = 0;
        for (var round = 0; round < 5; round++)
        {
            for (var i = 0; i < 3 + round; i++)
            {
                Assert.True(queue.TryWrite(Msg(next++)));
            }
            while (queue.TryRead(out var m))
            {
                Assert.Equal(expected++, Payload(m));
            }
        }
        Assert.Equal(next, expected);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void A_full_queue_refuses_a_write_until_one_is_read()
    {
        var queue = new NodeQueue(3);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(queue.TryWrite(Msg(i)));
        }
        Assert.Equal(3, queue.Count);
        Assert.False(queue.TryWrite(Msg(3)));
        Assert.True(queue.TryRead(out var first));
        Assert.Equal(0, Payload(first));
        Assert.True(queue.TryWrite(Msg(3)));
    }

    [Fact]
    public async Task A_waiting_reader_wakes_on_a_write_and_on_completion()
    {
        var queue = new NodeQueue(4);
        var wait = queue.WaitToReadAsync();
        Assert.False(wait.IsCompleted);
        queue.TryWrite(Msg(1));
        Assert.True(await wait.AsTask().WaitAsync(Timeout));
        Assert.True(queue.TryRead(out _));

        var second = queue.WaitToReadAsync();
        Assert.False(second.IsCompleted);
        queue.Complete();
        Assert.False(await second.AsTask().WaitAsync(Timeout));
        Assert.False(queue.TryWrite(Msg(2)));
    }

    [Fact]
    public async Task Completion_ends_a_waiting_readers_wait_before_it_returns()
    {
        var queue = new NodeQueue(4);
        var ended = new TaskCompletionSource<bool>();
        async Task ReadAsync()
        {
            ended.SetResult(await queue.WaitToReadAsync().ConfigureAwait(false));
        }
        var reading = ReadAsync();
        Assert.False(ended.Task.IsCompleted);
        queue.Complete();
        // The closing thread ran the reader's end itself (no thread-pool item per closed node).
        Assert.True(ended.Task.IsCompleted);
        Assert.False(await ended.Task);
        await reading;
    }

    [Fact]
    public async Task Messages_queued_before_completion_can_still_be_read()
    {
        var queue = new NodeQueue(4);
        queue.TryWrite(Msg(1));
        queue.Complete();
        Assert.True(await queue.WaitToReadAsync());
        Assert.True(queue.TryRead(out var m));
        Assert.Equal(1, Payload(m));
        Assert.False(await queue.WaitToReadAsync());
    }

    [Fact]
    public async Task A_writer_waiting_for_room_wakes_when_a_message_is_read_or_the_queue_completes()
    {
        var queue = new NodeQueue(1);
        queue.TryWrite(Msg(1));
        var room = queue.WaitToWriteAsync(CancellationToken.None);
        Assert.False(room.IsCompleted);
        Assert.True(queue.TryRead(out _));
        Assert.True(await room.AsTask().WaitAsync(Timeout));

        queue.TryWrite(Msg(2));
        var closed = queue.WaitToWriteAsync(CancellationToken.None);
        Assert.False(closed.IsCompleted);
        queue.Complete();
        Assert.False(await closed.AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_writer_that_gives_up_is_cancelled_and_a_later_read_wakes_only_the_others()
    {
        var queue = new NodeQueue(1);
        queue.TryWrite(Msg(1));
        using var giveUp = new CancellationTokenSource();
        var abandoned = queue.WaitToWriteAsync(giveUp.Token).AsTask();
        var kept = queue.WaitToWriteAsync(CancellationToken.None).AsTask();
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned.WaitAsync(Timeout));
        Assert.False(kept.IsCompleted);
        Assert.True(queue.TryRead(out _));
        Assert.True(await kept.WaitAsync(Timeout));
    }

    [Fact]
    public async Task The_readers_wait_ends_off_the_writers_thread()
    {
        var queue = new NodeQueue(4);
        using var gate = new ManualResetEventSlim();
        async Task<bool> ReadAsync()
        {
            await queue.WaitToReadAsync().ConfigureAwait(false);
            // Run inside the write, this would hold the writer until the timeout: the gate opens only after the write returns.
            return gate.Wait(Timeout);
        }
        var reading = ReadAsync();
        Assert.True(queue.TryWrite(Msg(1)));
        gate.Set();
        Assert.True(await reading.WaitAsync(Timeout * 2));
    }
}
