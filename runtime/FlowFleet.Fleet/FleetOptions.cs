namespace FlowFleet.Fleet;

/// <summary>Settings of the fleet server (configuration section <c>Fleet</c>).</summary>
public sealed class FleetOptions
{
    /// <summary><c>manual</c> (new devices wait as pending) or <c>auto</c> (admitted at once).</summary>
    public string Admission { get; set; } = "manual";

    /// <summary>How long a device has to answer one RPC.</summary>
    public TimeSpan RpcTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>RPCs in flight per device; more wait their turn.</summary>
    public int MaxConcurrentRpc { get; set; } = 4;

    /// <summary>Largest frame a device may send; a bigger one closes the connection (1009). Shelly's fleet manager accepts
    /// 5 MiB: a Pro device with many scripts, schedules and KVS entries answers <c>Shelly.GetConfig</c> with hundreds of KB.
    /// The read buffer grows only while such a frame arrives and is returned afterwards: an idle device holds none.</summary>
    public int MaxFrameBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>Largest first frame (before the device is identified), as Shelly's fleet manager: 256 KiB.</summary>
    public int MaxFirstFrameBytes { get; set; } = 256 * 1024;

    /// <summary>Status components one device may have; a report adding more is dropped (see <see cref="Registry.StatusLimits"/>).</summary>
    public int MaxStatusComponents { get; set; } = 256;

    /// <summary>Keys (at any depth) one status component may have; a component with more is not stored.</summary>
    public int MaxStatusKeysPerComponent { get; set; } = 1024;

    /// <summary>Bytes of JSON one device's status may take; a report that would pass it is not stored.</summary>
    public int MaxStatusBytes { get; set; } = 256 * 1024;

    /// <summary>Bytes of status kept for a device waiting for admission (it is read in full once accepted): an anonymous
    /// device holds next to nothing.</summary>
    public int MaxPendingStatusBytes { get; set; } = 4 * 1024;

    /// <summary>The status limits of an admitted device.</summary>
    public Registry.StatusLimits StatusLimits => new(MaxStatusComponents, MaxStatusKeysPerComponent, MaxStatusBytes);

    /// <summary>The status limits of a pending device.</summary>
    public Registry.StatusLimits PendingStatusLimits => new(Math.Min(32, MaxStatusComponents), Math.Min(64, MaxStatusKeysPerComponent), MaxPendingStatusBytes);

    /// <summary>Devices waiting for admission at most; a new unadmitted id beyond it is turned away (1008).</summary>
    public int MaxPendingDevices { get; set; } = 1000;

    /// <summary>New unadmitted device ids one address may bring per minute; more are turned away (1008).</summary>
    public int MaxNewDevicesPerMinutePerAddress { get; set; } = 30;

    /// <summary>Frames per minute a device may send (Shelly's fleet manager: 600); 0 = unlimited. Exceeding it closes with 1008.</summary>
    public int RateLimitPerMinute { get; set; } = 600;

    /// <summary>Time allowed for the first frame after the websocket opens.</summary>
    public TimeSpan FirstFrameTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time a new connection has to send its request head (HTTP, or a device's websocket upgrade) when devices connect
    /// directly (<see cref="DirectConnections"/>): silent and slow connections are closed before they reach the HTTP server.</summary>
    public TimeSpan HeadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Connections from one address still sending their head after a second; a newer one closes the oldest beyond this.</summary>
    public int MaxUnsortedPerAddress { get; set; } = 32;

    /// <summary>Websocket ping interval; two missed pongs close the connection.</summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a connection may go without a pong: two ping intervals.</summary>
    public TimeSpan PingTimeout => PingInterval * 2;

    /// <summary>Device websockets are taken off the connection before Kestrel's HTTP layer (<c>DeviceConnections</c>).</summary>
    public bool DirectConnections { get; set; } = true;

    /// <summary>
    /// A direct connection's frames are read and handled on the socket engine's thread that saw them arrive (Linux), not on a
    /// thread-pool thread woken for them: about half the CPU per frame at tens of thousands of frames a second (bench/README.md,
    /// ingest). That one thread then carries every device's frames (~150,000 a second): off spreads them over the pool.
    /// </summary>
    public bool InlineReceive { get; set; } = true;

    /// <summary>After a connect storm settles, the GC's spare memory is given back once (the server's <c>MemoryTrimmer</c>).</summary>
    public bool TrimMemory { get; set; } = true;

    /// <summary>Least time between two telemetry samples of the same device (status arriving faster is sampled; a minute, as
    /// Shelly's own energy counters are kept per minute).</summary>
    public TimeSpan TelemetryInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Telemetry older than this is deleted.</summary>
    public TimeSpan TelemetryRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Events kept per device in the event log.</summary>
    public int EventLogPerDevice { get; set; } = 200;

    /// <summary>The <c>src</c> this server uses in requests to devices.</summary>
    public string Source { get; set; } = "flowfleet";

    /// <summary>URL devices are told to connect to when adopted (default: derived from the request, <c>ws://host:port/shelly</c>).</summary>
    public string? PublicUrl { get; set; }
}
