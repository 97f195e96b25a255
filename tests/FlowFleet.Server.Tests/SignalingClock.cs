using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Server.Tests;

/// <summary>A fake clock that says when someone starts waiting on it (a trimmer's timer, created on its own thread).</summary>
internal sealed class SignalingClock : FakeTimeProvider
{
    private TaskCompletionSource _timer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task TimerCreated => Volatile.Read(ref _timer).Task;

    public void Reset() => Volatile.Write(ref _timer, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        Volatile.Read(ref _timer).TrySetResult();
        return timer;
    }
}
