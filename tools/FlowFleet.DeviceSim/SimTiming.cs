namespace FlowFleet.DeviceSim;

/// <summary>The timing both device connections (websocket and MQTT) share: reconnect backoff with jitter, status reports.</summary>
internal static class SimTiming
{
    /// <summary>The backoff spread ±25 %, so a fleet that lost its server doesn't come back all at once.</summary>
    public static TimeSpan Jitter(TimeSpan t) => TimeSpan.FromMilliseconds(t.TotalMilliseconds * (0.75 + Random.Shared.NextDouble() * 0.5));

    /// <summary>The next reconnect backoff: doubled, up to <see cref="SimOptions.MaxBackoff"/>.</summary>
    public static TimeSpan Next(TimeSpan backoff, SimOptions options) => TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.MaxBackoff.Ticks));

    /// <summary>Waits, ending quietly when cancelled.</summary>
    public static async Task Delay(TimeSpan t, CancellationToken ct)
    {
        try
        {
            await Task.Delay(t, ct);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Ticks the device (which sends its NotifyStatus) every <paramref name="interval"/> until cancelled.</summary>
    public static async Task ReportLoopAsync(SimDevice device, TimeSpan interval, CancellationToken ct)
    {
        try
        {
            // Spread the fleet's reports over the interval instead of sending them all at once.
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * interval.TotalMilliseconds), ct);
            using var timer = new PeriodicTimer(interval);
            device.Tick(interval);
            while (await timer.WaitForNextTickAsync(ct))
            {
                device.Tick(interval);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
