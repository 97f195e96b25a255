using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tmds.DBus.Protocol;

namespace FlowFleet.Fleet.Ble.BlueZ;

/// <summary>
/// A local Bluetooth adapter through BlueZ on the system D-Bus (<c>org.bluez</c>): LE discovery with a filter, devices from
/// <c>GetManagedObjects</c> and the <c>InterfacesAdded</c>/<c>PropertiesChanged</c> signals, GATT through <see cref="BlueZConnection"/>.
/// No bus, no BlueZ, no adapter or no permission leaves it <see cref="BleAdapterState.Unavailable"/> (or NoPermission) with
/// the reason; nothing throws out of <see cref="InitializeAsync"/>.
/// </summary>
public sealed partial class BlueZAdapter : IBleAdapter, IBleAdapterKind
{
    private readonly string? _busAddress;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, DeviceSeen> _devices = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _matches = [];
    private DBusConnection? _connection;
    private BleAdapterStatus _status = new(BleAdapterState.Unavailable, "not started");

    /// <param name="adapter">The adapter's name (<c>hci0</c>).</param>
    /// <param name="busAddress">The bus to use; null = the system bus (tests pass a private bus).</param>
    public BlueZAdapter(string adapter = "hci0", string? busAddress = null, ILogger<BlueZAdapter>? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(adapter);
        Name = adapter;
        AdapterPath = "/org/bluez/" + adapter;
        _busAddress = busAddress;
        _logger = logger ?? NullLogger<BlueZAdapter>.Instance;
    }

    public string Name { get; }

    public string Kind => "bluez";

    public string AdapterPath { get; }

    public BleAdapterStatus Status => _status;

    public event Action<BleAdvertisement>? Advertisement;

    public event Action<IBleAdapter>? StatusChanged;

    internal DBusConnection Connection => _connection ?? throw new BleException($"{Name} is not connected to D-Bus");

    /// <summary>Connects to the bus and finds the adapter. Never throws: the outcome is in <see cref="Status"/>.</summary>
    public async Task InitializeAsync(CancellationToken ct = default)
    {
        try
        {
            var address = _busAddress ?? DBusAddress.System ?? throw new BleException("no system D-Bus address");
            if (MissingSocket(address) is { } socket)
            {
                // The usual case in a container: no bus to try. A failed connect costs an exception whose handling reads
                // the stack's debug symbols (~5 MiB resident for the rest of the process's life).
                SetStatus(new BleAdapterStatus(BleAdapterState.Unavailable, $"no system D-Bus (no socket at {socket})"));
                return;
            }
            var connection = new DBusConnection(address);
            using (ct.Register(connection.Dispose))
            {
                await connection.ConnectAsync().ConfigureAwait(false);
            }
            _connection = connection;
            var objects = await BlueZBus.ManagedObjectsAsync(connection).ConfigureAwait(false);
            if (!objects.TryGetValue(AdapterPath, out var ifaces) || !ifaces.ContainsKey(BlueZBus.AdapterInterface))
            {
                var others = objects.Where(o => o.Value.ContainsKey(BlueZBus.AdapterInterface)).Select(o => o.Key[(o.Key.LastIndexOf('/') + 1)..]).ToList();
                SetStatus(new BleAdapterStatus(BleAdapterState.Unavailable, others.Count == 0 ? "BlueZ runs but there is no Bluetooth adapter" : $"no adapter {Name} (found {string.Join(", ", others)})"));
                return;
            }
            if (BlueZBus.Bool(ifaces[BlueZBus.AdapterInterface], "Powered") == false)
            {
                await SetPoweredAsync(connection).ConfigureAwait(false);
            }
            foreach (var (path, i) in objects)
            {
                Track(path, i);
            }
            await WatchAsync(connection).ConfigureAwait(false);
            SetStatus(BleAdapterStatus.Ready);
        }
        catch (Exception ex) when (ex is DBusErrorReplyException or DBusConnectionException or BleException or IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            var reason = BlueZBus.Explain(ex, "D-Bus").Message;
            var state = ex is DBusErrorReplyException { ErrorName: "org.freedesktop.DBus.Error.AccessDenied" } ? BleAdapterState.NoPermission : BleAdapterState.Unavailable;
            SetStatus(new BleAdapterStatus(state, ex is DBusConnectionException or IOException or System.Net.Sockets.SocketException ? $"no system D-Bus ({ex.Message})" : reason));
        }
    }

    /// <summary>
    /// The socket file named by a bus address whose every entry is a <c>unix:path=</c> that does not exist, or null when
    /// some entry may connect (an existing path, an abstract socket, tcp).
    /// </summary>
    internal static string? MissingSocket(string address)
    {
        string? missing = null;
        foreach (var entry in address.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!entry.StartsWith("unix:", StringComparison.Ordinal))
            {
                return null;
            }
            string? path = null;
            foreach (var pair in entry[5..].Split(','))
            {
                if (pair.StartsWith("path=", StringComparison.Ordinal))
                {
                    path = Uri.UnescapeDataString(pair[5..]);
                }
            }
            if (path is null || File.Exists(path))
            {
                return null;
            }
            missing ??= path;
        }
        return missing;
    }

    private async Task SetPoweredAsync(DBusConnection connection)
    {
        await BlueZBus.CallAsync(connection, AdapterPath, BlueZBus.Properties, "Set", "ssv", (ref MessageWriter w) =>
        {
            w.WriteString(BlueZBus.AdapterInterface);
            w.WriteString("Powered");
            w.WriteVariantBool(true);
        }).ConfigureAwait(false);
    }

    private async Task WatchAsync(DBusConnection connection)
    {
        _matches.Add(await connection.AddMatchAsync(
            new MatchRule { Type = MessageType.Signal, Sender = BlueZBus.Service, Interface = BlueZBus.ObjectManager, Member = "InterfacesAdded" },
            static (m, _) =>
            {
                var r = m.GetBodyReader();
                var path = r.ReadObjectPathAsString();
                return (path, BlueZBus.ReadInterfaces(ref r));
            },
            n =>
            {
                if (n.HasValue)
                {
                    Track(n.Value.path, n.Value.Item2);
                }
            }, false, ObserverFlags.None, null).ConfigureAwait(false));
        _matches.Add(await connection.AddMatchAsync(
            new MatchRule { Type = MessageType.Signal, Sender = BlueZBus.Service, Interface = BlueZBus.Properties, Member = "PropertiesChanged", PathNamespace = AdapterPath },
            static (m, _) =>
            {
                var r = m.GetBodyReader();
                var iface = r.ReadString();
                return (m.PathAsString ?? "", iface, BlueZBus.ReadProps(ref r));
            },
            n =>
            {
                if (n.HasValue)
                {
                    OnPropertiesChanged(n.Value.Item1, n.Value.iface, n.Value.Item3);
                }
            }, false, ObserverFlags.None, null).ConfigureAwait(false));
    }

    private void Track(string path, Dictionary<string, DBusProps> ifaces)
    {
        if (!ifaces.TryGetValue(BlueZBus.DeviceInterface, out var props) || !path.StartsWith(AdapterPath + "/", StringComparison.Ordinal))
        {
            return;
        }
        var seen = _devices.GetOrAdd(path, _ => new DeviceSeen());
        Merge(seen, props);
        // A device object BlueZ kept from earlier is not an advertisement; one with RSSI was heard in this discovery.
        if (props.ContainsKey("RSSI") && _status.State == BleAdapterState.Scanning)
        {
            Emit(seen);
        }
    }

    private void OnPropertiesChanged(string path, string iface, DBusProps props)
    {
        if (path == AdapterPath && iface == BlueZBus.AdapterInterface && BlueZBus.Bool(props, "Powered") == false)
        {
            SetStatus(new BleAdapterStatus(BleAdapterState.Unavailable, "the adapter was powered off"));
            return;
        }
        if (iface != BlueZBus.DeviceInterface || !_devices.TryGetValue(path, out var seen))
        {
            return;
        }
        Merge(seen, props);
        if (props.ContainsKey("RSSI") || props.ContainsKey("ManufacturerData"))
        {
            Emit(seen);
        }
    }

    private static void Merge(DeviceSeen seen, DBusProps props)
    {
        seen.Address = BlueZBus.String(props, "Address") ?? seen.Address;
        seen.Name = BlueZBus.String(props, "Name") ?? BlueZBus.String(props, "Alias") ?? seen.Name;
        seen.Rssi = BlueZBus.Int(props, "RSSI") ?? seen.Rssi;
        seen.Manufacturer = BlueZBus.Manufacturer(props) ?? seen.Manufacturer;
    }

    private void Emit(DeviceSeen seen)
    {
        if (seen.Address is { } address && seen.Rssi is { } rssi)
        {
            Advertisement?.Invoke(new BleAdvertisement(address, seen.Name, rssi, seen.Manufacturer ?? [], Name));
        }
    }

    internal string? PathOf(string address) =>
        _devices.FirstOrDefault(d => string.Equals(d.Value.Address, address, StringComparison.OrdinalIgnoreCase)).Key;

    public async Task StartScanAsync(CancellationToken ct = default)
    {
        if (!_status.Usable)
        {
            throw new BleException($"{Name}: {_status}");
        }
        var connection = Connection;
        try
        {
            await BlueZBus.CallAsync(connection, AdapterPath, BlueZBus.AdapterInterface, "SetDiscoveryFilter", "a{sv}", static (ref MessageWriter w) =>
                w.WriteDictionary(new Dictionary<string, VariantValue> { ["Transport"] = "le", ["DuplicateData"] = true })).ConfigureAwait(false);
            await BlueZBus.CallAsync(connection, AdapterPath, BlueZBus.AdapterInterface, "StartDiscovery").ConfigureAwait(false);
        }
        catch (DBusErrorReplyException ex) when (ex.ErrorName == "org.bluez.Error.InProgress")
        {
            // Someone else (bluetoothctl, another program) is already scanning on this adapter: the results reach us too.
        }
        catch (Exception ex) when (ex is DBusErrorReplyException or DBusConnectionClosedException)
        {
            throw BlueZBus.Explain(ex, $"{Name}: starting discovery");
        }
        SetStatus(new BleAdapterStatus(BleAdapterState.Scanning));
        // Devices BlueZ already knows with a fresh RSSI count as heard.
        foreach (var (path, ifaces) in await BlueZBus.ManagedObjectsAsync(connection).ConfigureAwait(false))
        {
            Track(path, ifaces);
        }
    }

    public async Task StopScanAsync(CancellationToken ct = default)
    {
        if (_status.State != BleAdapterState.Scanning)
        {
            return;
        }
        try
        {
            await BlueZBus.CallAsync(Connection, AdapterPath, BlueZBus.AdapterInterface, "StopDiscovery").ConfigureAwait(false);
        }
        catch (DBusErrorReplyException ex) when (ex.ErrorName is "org.bluez.Error.Failed" or "org.bluez.Error.NotReady")
        {
            LogStopFailed(Name, ex.ErrorMessage);
        }
        SetStatus(BleAdapterStatus.Ready);
    }

    public async Task<IBleConnection> ConnectAsync(string address, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        if (!_status.Usable)
        {
            throw new BleException($"{Name}: {_status}");
        }
        var path = PathOf(address) ?? $"{AdapterPath}/dev_{address.ToUpperInvariant().Replace(':', '_')}";
        return await BlueZConnection.OpenAsync(this, path, address, ct).ConfigureAwait(false);
    }

    private void SetStatus(BleAdapterStatus status)
    {
        if (_status == status)
        {
            return;
        }
        _status = status;
        LogStatus(Name, status.ToString());
        StatusChanged?.Invoke(this);
    }

    public ValueTask DisposeAsync()
    {
        foreach (var m in _matches)
        {
            m.Dispose();
        }
        _matches.Clear();
        _connection?.Dispose();
        _connection = null;
        return ValueTask.CompletedTask;
    }

    private sealed class DeviceSeen
    {
        public string? Address { get; set; }

        public string? Name { get; set; }

        public int? Rssi { get; set; }

        public Dictionary<ushort, byte[]>? Manufacturer { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "BlueZ adapter {Name}: {Status}")]
    private partial void LogStatus(string name, string status);

    [LoggerMessage(Level = LogLevel.Debug, Message = "BlueZ adapter {Name}: stopping discovery failed: {Reason}")]
    private partial void LogStopFailed(string name, string reason);
}
