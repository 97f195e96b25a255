namespace FlowFleet.Fleet.Ble;

/// <summary>
/// A Bluetooth LE radio FlowFleet can use: a local BlueZ adapter, a remote BLE station (over <c>/ble</c>) or the simulator.
/// It knows nothing about Shelly: the GATT RPC framing lives once above it (<see cref="ShellyBleRpc"/>).
/// </summary>
public interface IBleAdapter : IAsyncDisposable
{
    /// <summary>A stable name shown to users (<c>hci0</c>, <c>station:garage-pi</c>, <c>sim</c>).</summary>
    string Name { get; }

    /// <summary>Whether the adapter can be used now, with a reason when it cannot.</summary>
    BleAdapterStatus Status { get; }

    /// <summary>Raised for every advertisement seen while scanning (from any thread; handlers must be quick).</summary>
    event Action<BleAdvertisement>? Advertisement;

    /// <summary>Raised when <see cref="Status"/> changes.</summary>
    event Action<IBleAdapter>? StatusChanged;

    /// <summary>Starts (or keeps) scanning for advertisements.</summary>
    Task StartScanAsync(CancellationToken ct = default);

    Task StopScanAsync(CancellationToken ct = default);

    /// <summary>Connects to a device by its BLE address; throws <see cref="BleException"/> when it cannot.</summary>
    Task<IBleConnection> ConnectAsync(string address, CancellationToken ct = default);
}

/// <summary>One GATT connection. Disposing disconnects.</summary>
public interface IBleConnection : IAsyncDisposable
{
    string Address { get; }

    /// <summary>Reads a characteristic's value (a long value comes back in the chunk the device hands out for this read).</summary>
    Task<byte[]> ReadAsync(Guid service, Guid characteristic, CancellationToken ct = default);

    /// <summary>Writes a characteristic's value with response.</summary>
    Task WriteAsync(Guid service, Guid characteristic, ReadOnlyMemory<byte> value, CancellationToken ct = default);

    /// <summary>Subscribes to notifications of a characteristic; null when the adapter or device cannot notify (then the caller polls).</summary>
    Task<IAsyncDisposable?> SubscribeAsync(Guid service, Guid characteristic, Action<byte[]> onValue, CancellationToken ct = default);

    /// <summary>Largest value one write or read carries (ATT MTU - 3); writes longer than this are split by the caller.</summary>
    int MaxChunk { get; }
}

/// <summary>State of an adapter. <c>Ready</c> is the only usable one; the others carry a reason for the UI and the log.</summary>
public enum BleAdapterState
{
    Ready,
    Scanning,
    Unavailable,
    NoPermission,
    Disconnected,
}

public sealed record BleAdapterStatus(BleAdapterState State, string? Detail = null)
{
    public static readonly BleAdapterStatus Ready = new(BleAdapterState.Ready);

    public bool Usable => State is BleAdapterState.Ready or BleAdapterState.Scanning;

    public override string ToString() => Detail is null ? State.ToString() : $"{State}: {Detail}";
}

/// <summary>One advertisement as the radio saw it.</summary>
/// <param name="Address">The BLE address (<c>AA:BB:CC:DD:EE:FF</c>).</param>
/// <param name="Name">The local name, when advertised.</param>
/// <param name="Rssi">Signal strength in dBm at the adapter.</param>
/// <param name="ManufacturerData">Manufacturer-specific data by company id.</param>
/// <param name="Adapter">The adapter (or station) that saw it.</param>
public sealed record BleAdvertisement(string Address, string? Name, int Rssi, IReadOnlyDictionary<ushort, byte[]> ManufacturerData, string Adapter)
{
    public DateTimeOffset SeenAt { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>A BLE failure (no such device, connection lost, GATT error, timeout) with a message fit for users.</summary>
public sealed class BleException : Exception
{
    public BleException()
    {
    }

    public BleException(string message) : base(message)
    {
    }

    public BleException(string message, Exception inner) : base(message, inner)
    {
    }
}
