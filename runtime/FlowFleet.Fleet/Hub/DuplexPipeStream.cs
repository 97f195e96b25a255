using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// A connection's transport pipes as the stream a <see cref="System.Net.WebSockets.WebSocket"/> reads and writes. Reads copy
/// straight out of the pipe (a zero-byte read waits for data without taking any); the connection owns the pipes, so
/// disposing only wakes a pending read.
/// </summary>
internal sealed class DuplexPipeStream(IDuplexPipe pipe) : Stream
{
    private readonly PipeReader _input = pipe.Input;
    private readonly PipeWriter _output = pipe.Output;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_input.TryRead(out var result))
        {
            if (!result.Buffer.IsEmpty || result.IsCompleted || result.IsCanceled)
            {
                return new ValueTask<int>(Take(result, buffer.Span));
            }
            _input.AdvanceTo(result.Buffer.Start);
        }
        return ReadWhenAvailableAsync(buffer, cancellationToken);
    }

    // Pooled: an idle device has a read pending for seconds to days.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadWhenAvailableAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (!result.Buffer.IsEmpty || result.IsCompleted || result.IsCanceled)
            {
                return Take(result, buffer.Span);
            }
            _input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private int Take(in ReadResult result, Span<byte> destination)
    {
        var data = result.Buffer;
        if (result.IsCanceled)
        {
            _input.AdvanceTo(data.Start);
            throw new OperationCanceledException("The connection's read was cancelled");
        }
        // A zero-byte read only waits: the data stays in the pipe.
        var count = (int)Math.Min(data.Length, destination.Length);
        data.Slice(0, count).CopyTo(destination);
        _input.AdvanceTo(data.GetPosition(count));
        return count;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var write = _output.WriteAsync(buffer, cancellationToken);
        if (write.IsCompletedSuccessfully)
        {
            return write.Result.IsCanceled ? ValueTask.FromException(new OperationCanceledException("The connection's write was cancelled")) : default;
        }
        return AwaitWrite(write);
    }

    private static async ValueTask AwaitWrite(ValueTask<FlushResult> write)
    {
        if ((await write.ConfigureAwait(false)).IsCanceled)
        {
            throw new OperationCanceledException("The connection's write was cancelled");
        }
    }

    public override async Task FlushAsync(CancellationToken cancellationToken) => await _output.FlushAsync(cancellationToken).ConfigureAwait(false);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // An aborted websocket disposes its stream: wake the read it may be waiting in.
            _input.CancelPendingRead();
            _output.CancelPendingFlush();
        }
        base.Dispose(disposing);
    }
}
