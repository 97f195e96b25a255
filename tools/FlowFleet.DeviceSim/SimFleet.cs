namespace FlowFleet.DeviceSim;

/// <summary>Many simulated devices in one process, each with its own outbound websocket (or MQTT connection with <c>mqtt</c>).</summary>
public sealed class SimFleet : IAsyncDisposable
{
    private readonly List<SimConnection> _connections = [];
    private readonly List<SimMqttConnection> _mqtt = [];

    public SimFleet(string? server, int count, string profile = "mix", SimOptions? options = null, int firstIndex = 0, string? password = null, string? macPrefix = null,
        Uri? mqtt = null, string? mqttToken = null)
    {
        Options = options ?? new SimOptions();
        var fixedProfile = SimProfile.Find(profile);
        for (var i = 0; i < count; i++)
        {
            var index = firstIndex + i;
            var device = new SimDevice(fixedProfile ?? SimProfile.Mix(index), index, password, macPrefix);
            if (mqtt is not null)
            {
                // MQTT instead of the outbound websocket, as a device configured for MQTT only.
                device.SetOutboundServer(null);
                _mqtt.Add(new SimMqttConnection(device, Options, mqtt, mqttToken));
                continue;
            }
            device.SetOutboundServer(server);
            _connections.Add(new SimConnection(device, Options));
        }
    }

    public SimOptions Options { get; }

    public IReadOnlyList<SimConnection> Connections => _connections;

    /// <summary>The devices on MQTT (empty unless the fleet was made with <c>mqtt</c>).</summary>
    public IReadOnlyList<SimMqttConnection> MqttConnections => _mqtt;

    public IEnumerable<SimDevice> Devices => _connections.Select(c => c.Device).Concat(_mqtt.Select(c => c.Device));

    public int ConnectedCount => _connections.Count(c => c.Connected) + _mqtt.Count(c => c.Connected);

    public SimDevice this[string id] => Devices.First(d => d.Id == id);

    /// <summary>Starts the connections, at most <paramref name="perSecond"/> new ones a second (servers don't like a stampede).</summary>
    public async Task StartAsync(int perSecond = 0, IProgress<int>? progress = null, CancellationToken ct = default)
    {
        var started = 0;
        var t0 = DateTime.UtcNow;
        foreach (var c in _connections.Select(c => (Action)c.Start).Concat(_mqtt.Select(c => (Action)c.Start)))
        {
            c();
            started++;
            progress?.Report(started);
            if (perSecond > 0 && started % Math.Max(1, perSecond / 10) == 0)
            {
                var due = t0 + TimeSpan.FromSeconds((double)started / perSecond);
                var wait = due - DateTime.UtcNow;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, ct);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_connections.Select(c => c.DisposeAsync().AsTask()).Concat(_mqtt.Select(c => c.DisposeAsync().AsTask())));
    }
}
