using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net.WebSockets;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// Terminates the devices' outbound websockets on <c>/shelly</c>: identifies each device by the <c>src</c> of its first status
/// frame, admits it (or parks it as pending), reads its identity, keeps its status current, raises device events and carries
/// RPCs to it.
/// </summary>
public sealed partial class DeviceHub(IDeviceStore registry, IGroupStore groups, IEnrollmentTokenStore tokens, IEventLog eventLog, IAuditLog audit, ITelemetryStore telemetry, IOptions<FleetOptions> options, ILogger<DeviceHub> hubLogger) : IDisposable
{
    // Everything the hub logs is about devices, which come in thousands: at most 20 lines a second.
    private readonly ILogger _logger = new RateLimitedLogger(hubLogger, 20);

    /// <summary>Close codes sent to devices.</summary>
    public const WebSocketCloseStatus ClosedReplaced = (WebSocketCloseStatus)4000;

    private readonly ConcurrentDictionary<string, DeviceSession> _sessions = new(StringComparer.Ordinal);
    private readonly FleetOptions _options = options.Value;
    private ImmutableArray<Action<DeviceEvent>> _subscribers = [];
    private long _eventsProcessed;
    private long _framesRejected;
    private long _connectionsRefused;
    private long _statusOverLimits;

    /// <summary>Passwords for devices with authentication enabled (the server sets an encrypting implementation).</summary>
    public Rpc.IDeviceCredentials Credentials { get; set; } = new Rpc.PlainDeviceCredentials();

    public FleetOptions Options => _options;

    public int OnlineCount => _sessions.Count(s => s.Value.Admitted);

    public int ConnectionCount => _sessions.Count;

    public long EventsProcessed => Interlocked.Read(ref _eventsProcessed);

    public long FramesRejected => Interlocked.Read(ref _framesRejected);

    /// <summary>Status reports that went over a device's status limits (partly or wholly not stored).</summary>
    public long StatusOverLimits => Interlocked.Read(ref _statusOverLimits);

    /// <summary>Device websockets refused because the server is at its connection budget.</summary>
    public long ConnectionsRefused => Interlocked.Read(ref _connectionsRefused);

    /// <summary>The sessions, walked live (not a copy: see <see cref="DeviceStore.All"/>).</summary>
    public IEnumerable<DeviceSession> Sessions => _sessions.Select(static s => s.Value);

    public DeviceSession? Session(string id) => _sessions.GetValueOrDefault(id);

    public bool IsOnline(string id) => _sessions.TryGetValue(id, out var s) && s.Admitted;

    /// <summary>Connected here or, in a cluster, to another instance: a call to it can be made from here.</summary>
    public bool IsReachable(string id) => IsOnline(id) || Remote?.OwnerOf(id) is not null;

    /// <summary>Receives every device event until the returned handle is disposed. Handlers run inline: keep them short.</summary>
    public IDisposable Subscribe(Action<DeviceEvent> handler)
    {
        ImmutableInterlocked.Update(ref _subscribers, s => s.Add(handler));
        return new Unsubscriber(() => ImmutableInterlocked.Update(ref _subscribers, s => s.Remove(handler)));
    }

    private sealed class Unsubscriber(Action action) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                action();
            }
        }
    }

    private void Raise(DeviceEvent e)
    {
        foreach (var s in _subscribers)
        {
            try
            {
                s(e);
            }
            catch (Exception ex)
            {
                LogSubscriberFailed(ex, e.Kind, e.DeviceId);
            }
        }
    }

    private int _messageListeners;

    /// <summary>True when someone listens for raw frames (the Data page, <c>/client</c> with Shelly.Message).</summary>
    public bool WantsMessages => Volatile.Read(ref _messageListeners) > 0;

    /// <summary>Asks for <see cref="DeviceEventKind.Message"/> events (raw frames in and out) until the handle is disposed.</summary>
    public IDisposable ListenToMessages()
    {
        Interlocked.Increment(ref _messageListeners);
        return new Unsubscriber(() => Interlocked.Decrement(ref _messageListeners));
    }

    /// <summary>Devices connected to other instances of a cluster (null: one process, the default).</summary>
    public IRemoteDevices? Remote { get; set; }

    /// <summary>The cluster instance holding the device (this one's name when connected here); null in a single process or when no instance holds it.</summary>
    public string? InstanceOf(string deviceId) => Remote is not { } remote ? null : IsOnline(deviceId) ? remote.Instance : remote.OwnerOf(deviceId);

    /// <summary>Hands an event of a device held by another instance to this instance's subscribers (the cluster calls it).</summary>
    internal void RaiseRemote(DeviceEvent e) => Raise(e);
}
