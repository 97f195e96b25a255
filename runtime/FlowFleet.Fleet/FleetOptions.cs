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

    /// <summary>Largest frame a device may send; a bigger one closes the connection (1009).</summary>
    public int MaxFrameBytes { get; set; } = 64 * 1024;

    /// <summary>Frames per minute a device may send (Shelly's fleet manager: 600); 0 = unlimited. Exceeding it closes with 1008.</summary>
    public int RateLimitPerMinute { get; set; } = 600;

    /// <summary>Time allowed for the first frame after the websocket opens.</summary>
    public TimeSpan FirstFrameTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Websocket ping interval; two missed pongs close the connection.</summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a connection may go without a pong: two ping intervals.</summary>
    public TimeSpan PingTimeout => PingInterval * 2;

    /// <summary>Device websockets are taken off the connection before Kestrel's HTTP layer (<c>DeviceConnections</c>).</summary>
    public bool DirectConnections { get; set; } = true;

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
