namespace FlowFleet.Runtime.Engine;

/// <summary>
/// Whether a cheap node still runs on its sender's thread (<see cref="RunningNode"/>'s inline path, which for device events
/// is the thread reading every device's socket). A genuinely slow node (a catastrophic regex on device data) must leave that
/// thread; a cheap one must not leave it for good because of one run the machine made slow (issue 19: under load every
/// ingest run demoted its switch after one run of 109–263 ms, and each frame then cost ~40 % more for the rest of the
/// process's life). So:
/// <list type="bullet">
/// <item>a run is timed net of the GC's pauses during it (a pause stops every thread; it is not the node's time);</item>
/// <item>one run over the budget is a strike; a second within <see cref="StrikeWindow"/> of the first takes the node off
/// its senders' threads (a node that is slow on some data only — one device in two — still leaves);</item>
/// <item>off, its runs from its own queue are timed the same way: after <see cref="RetryAfter"/> without one over the
/// budget it runs on its senders' threads again, on probation (one slow run within the window takes it off again).</item>
/// </list>
/// Called only by whoever holds the node's busy flag (one at a time); <see cref="Off"/> is read by any sender.
/// </summary>
internal sealed class InlineGuard
{
    /// <summary>How close together two over-budget runs must be to take the node off its senders' threads.</summary>
    public static readonly TimeSpan StrikeWindow = TimeSpan.FromMinutes(1);

    /// <summary>How long a node off its senders' threads must run within the budget before it is let back.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromMinutes(1);

    private volatile bool _off;
    // Timestamps of the clock the runs are timed with; 0 = none.
    private long _lastStrike;
    private long _offSince;

    /// <summary>Whether the node takes its messages from its queue (taken off its senders' threads).</summary>
    public bool Off => _off;

    /// <summary>The start of a timed run: the clock's timestamp and the GC's pause total.</summary>
    public static (long Started, TimeSpan Paused) Start(TimeProvider time) => (Now(time), GC.GetTotalPauseDuration());

    /// <summary>How long the run begun at <paramref name="start"/> took, net of the GC's pauses since.</summary>
    public static TimeSpan Took(TimeProvider time, (long Started, TimeSpan Paused) start)
    {
        var took = Since(time, start.Started);
        var paused = GC.GetTotalPauseDuration() - start.Paused;
        return paused > TimeSpan.Zero ? took - (paused < took ? paused : took) : took;
    }

    /// <summary>
    /// The system clock's milliseconds (a coarse clock: a budget is ~100 ms, and a precise timestamp per run was two clock
    /// reads per inline node per message, ~3 % of the throughput bench's CPU); any other provider's timestamp (tests).
    /// </summary>
    private static long Now(TimeProvider time) => ReferenceEquals(time, TimeProvider.System) ? Environment.TickCount64 : time.GetTimestamp();

    /// <summary>Time since <paramref name="started"/>, a value of <see cref="Now"/> on the same clock.</summary>
    private static TimeSpan Since(TimeProvider time, long started) => ReferenceEquals(time, TimeProvider.System)
        ? TimeSpan.FromMilliseconds(Environment.TickCount64 - started)
        : time.GetElapsedTime(started);

    /// <summary>After a run on a sender's thread: true when this run takes the node off its senders' threads.</summary>
    public bool RanInline(TimeProvider time, TimeSpan took, TimeSpan budget)
    {
        if (took <= budget || _off)
        {
            return false;
        }
        var now = time.GetTimestamp();
        var previous = _lastStrike;
        _lastStrike = now;
        if (previous == 0 || time.GetElapsedTime(previous, now) > StrikeWindow)
        {
            return false;
        }
        _offSince = now;
        _off = true;
        return true;
    }

    /// <summary>After a run from the node's queue while it is off: a slow one starts its wait for a return again.</summary>
    public void RanFromQueue(TimeProvider time, TimeSpan took, TimeSpan budget)
    {
        if (took > budget)
        {
            _offSince = time.GetTimestamp();
        }
    }

    /// <summary>
    /// Whether a node that is off has run within the budget for <see cref="RetryAfter"/>: it then runs on its senders'
    /// threads again, on probation (its return counts as a strike). Called by a sender holding the busy flag.
    /// </summary>
    public bool TryReturn(TimeProvider time)
    {
        if (!_off || time.GetElapsedTime(_offSince) < RetryAfter)
        {
            return false;
        }
        _lastStrike = time.GetTimestamp();
        _off = false;
        return true;
    }
}
