using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowFleet.Fleet.Hub;

/// <summary>Connection bookkeeping: deadlines of connections still waiting for their first frame, one sweep timer for them and for RPC deadlines, and the direct-connection budget.</summary>
public sealed partial class DeviceHub
{
    // One timer for every RPC deadline and direct connection's ping: a sweep four times a second fails calls past their time.
    private Timer? _sweep;

    private void EnsureSweep()
    {
        if (_sweep is null)
        {
            var timer = new Timer(_ => Sweep(), null, Timeout.Infinite, Timeout.Infinite);
            if (Interlocked.CompareExchange(ref _sweep, timer, null) is null)
            {
                timer.Change(250, 250);
            }
            else
            {
                timer.Dispose();
            }
        }
    }

    // Connections waiting for their first frame, with their deadlines.
    private readonly ConcurrentDictionary<CancellationTokenSource, long> _handshakes = new();

    // Internal: DeviceWalkTests call it to count what one sweep allocates.
    internal void Sweep()
    {
        var now = Environment.TickCount64;
        var pingInterval = (long)_options.PingInterval.TotalMilliseconds;
        var pingTimeout = (long)_options.PingTimeout.TotalMilliseconds;
        // The dictionaries are walked, not copied: .Values takes every lock and copies all sessions into a new array — at
        // 19,000 devices a 150 KB array on the large object heap four times a second, garbage that stayed resident until the
        // next full collection (RSS per device 11.5 -> 14.3 KiB, bench/README.md).
        foreach (var (_, session) in _sessions)
        {
            Visit(session);
        }
        foreach (var (_, session) in _claims)
        {
            Visit(session);
        }
        foreach (var (cts, deadline) in _handshakes)
        {
            if (deadline <= now && _handshakes.TryRemove(cts, out _))
            {
                try
                {
                    cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }

        void Visit(DeviceSession session)
        {
            session.ExpireCalls(now);
            // Direct connections have no timer of their own for pings (HTTP-upgraded ones have the websocket's keep-alive).
            if (session.Socket is DeviceSocket direct)
            {
                direct.KeepAlive(now, pingInterval, pingTimeout);
            }
        }
    }

    public void Dispose() => _sweep?.Dispose();

    /// <summary>Cancels <paramref name="deadline"/> when the first-frame timeout passes (until forgotten).</summary>
    internal void TrackHandshake(CancellationTokenSource deadline) => TrackHandshake(deadline, _options.FirstFrameTimeout);

    /// <summary>Cancels <paramref name="deadline"/> after <paramref name="timeout"/> (until forgotten).</summary>
    internal void TrackHandshake(CancellationTokenSource deadline, TimeSpan timeout)
    {
        _handshakes[deadline] = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        EnsureSweep();
    }

    private long _idleClosed;

    /// <summary>Connections closed before they sent a whole request head (silent, too slow, or pushed out by a newer one).</summary>
    public long IdleConnectionsClosed => Interlocked.Read(ref _idleClosed);

    internal void CountIdleClosed() => Interlocked.Increment(ref _idleClosed);

    internal void ForgetHandshake(CancellationTokenSource deadline) => _handshakes.TryRemove(deadline, out _);

    private long _directConnections;

    /// <summary>Device websockets taken straight off their connection (see <see cref="DeviceConnections"/>).</summary>
    public long DirectConnections => Interlocked.Read(ref _directConnections);

    internal bool TryOpenDirect(long max)
    {
        if (Interlocked.Increment(ref _directConnections) <= max)
        {
            return true;
        }
        Interlocked.Decrement(ref _directConnections);
        CountRefused(max);
        return false;
    }

    internal void CloseDirect() => Interlocked.Decrement(ref _directConnections);

    private long _refusedReported;
    private long _refusedReportedAt = long.MinValue;

    /// <summary>
    /// Counts a device connection turned away at the connection budget (<paramref name="budget"/> devices) and says so in the
    /// log: a line at the first refusal, then at most one a minute with how many since — a fleet larger than the budget
    /// retries all the time, thousands a minute.
    /// </summary>
    internal void CountRefused(long budget)
    {
        var total = Interlocked.Increment(ref _connectionsRefused);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _refusedReportedAt);
        if ((last != long.MinValue && now - last < 60_000) || Interlocked.CompareExchange(ref _refusedReportedAt, now, last) != last)
        {
            return;
        }
        LogRefusedAtBudget(total - Interlocked.Exchange(ref _refusedReported, total), budget, DirectConnections);
    }
}
