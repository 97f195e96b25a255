using Tmds.DBus.Protocol;

namespace FlowFleet.Fleet.Ble.BlueZ;

/// <summary>A GATT connection through BlueZ: <c>Device1.Connect</c>, the characteristics found under the device, their
/// <c>ReadValue</c>/<c>WriteValue</c>/<c>StartNotify</c> (values arrive as <c>PropertiesChanged</c> of <c>Value</c>).</summary>
public sealed class BlueZConnection : IBleConnection
{
    private readonly BlueZAdapter _adapter;
    private readonly string _path;
    private readonly Dictionary<(Guid Service, Guid Characteristic), string> _characteristics;
    private int _closed;

    private BlueZConnection(BlueZAdapter adapter, string path, string address, Dictionary<(Guid, Guid), string> characteristics, int maxChunk)
    {
        _adapter = adapter;
        _path = path;
        Address = address;
        _characteristics = characteristics;
        MaxChunk = maxChunk;
    }

    public string Address { get; }

    public int MaxChunk { get; }

    /// <summary>How long services may take to resolve after the link is up.</summary>
    public static TimeSpan ResolveTimeout { get; set; } = TimeSpan.FromSeconds(15);

    internal static async Task<BlueZConnection> OpenAsync(BlueZAdapter adapter, string path, string address, CancellationToken ct)
    {
        var connection = adapter.Connection;
        try
        {
            await BlueZBus.CallAsync(connection, path, BlueZBus.DeviceInterface, "Connect").WaitAsync(TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        }
        catch (DBusErrorReplyException ex) when (ex.ErrorName == "org.bluez.Error.AlreadyConnected")
        {
        }
        catch (DBusErrorReplyException ex) when (ex.ErrorName == "org.freedesktop.DBus.Error.UnknownObject")
        {
            throw new BleException($"{address} is not known to {adapter.Name} (scan first)", ex);
        }
        catch (Exception ex) when (ex is DBusErrorReplyException or TimeoutException)
        {
            throw BlueZBus.Explain(ex, $"connecting to {address}");
        }
        // Services resolve a moment after the link is up; until then there are no characteristic objects.
        var deadline = DateTime.UtcNow + ResolveTimeout;
        while (true)
        {
            var objects = await BlueZBus.ManagedObjectsAsync(connection).ConfigureAwait(false);
            var services = objects.Where(o => o.Key.StartsWith(path + "/", StringComparison.Ordinal) && o.Value.ContainsKey(BlueZBus.ServiceInterface))
                .ToDictionary(o => o.Key, o => Guid.TryParse(BlueZBus.String(o.Value[BlueZBus.ServiceInterface], "UUID"), out var g) ? g : Guid.Empty, StringComparer.Ordinal);
            var chars = new Dictionary<(Guid, Guid), string>();
            var mtu = 0;
            foreach (var (p, ifaces) in objects)
            {
                if (!p.StartsWith(path + "/", StringComparison.Ordinal) || !ifaces.TryGetValue(BlueZBus.CharacteristicInterface, out var props))
                {
                    continue;
                }
                var service = services.GetValueOrDefault(p[..p.LastIndexOf('/')]);
                if (Guid.TryParse(BlueZBus.String(props, "UUID"), out var uuid))
                {
                    chars[(service, uuid)] = p;
                    mtu = Math.Max(mtu, BlueZBus.Int(props, "MTU") ?? 0);
                }
            }
            if (chars.Count > 0)
            {
                // BlueZ splits long writes (prepare/execute) itself; with a known MTU one chunk is one ATT write.
                return new BlueZConnection(adapter, path, address, chars, mtu > 3 ? mtu - 3 : 512);
            }
            if (DateTime.UtcNow > deadline)
            {
                await BlueZBus.CallAsync(connection, path, BlueZBus.DeviceInterface, "Disconnect").ConfigureAwait(false);
                throw new BleException($"{address}: no GATT services resolved within {ResolveTimeout.TotalSeconds:0} s");
            }
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    private string Characteristic(Guid service, Guid characteristic)
    {
        if (Volatile.Read(ref _closed) == 1)
        {
            throw new BleException("disconnected");
        }
        return _characteristics.TryGetValue((service, characteristic), out var p) ? p : throw new BleException($"{Address} has no characteristic {characteristic} in service {service}");
    }

    public async Task<byte[]> ReadAsync(Guid service, Guid characteristic, CancellationToken ct = default)
    {
        var path = Characteristic(service, characteristic);
        try
        {
            return await BlueZBus.CallAsync(_adapter.Connection, path, BlueZBus.CharacteristicInterface, "ReadValue", "a{sv}", BlueZBus.EmptyOptions, BlueZBus.ReadBytes).WaitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DBusErrorReplyException or DBusConnectionClosedException)
        {
            throw BlueZBus.Explain(ex, "GATT read");
        }
    }

    public async Task WriteAsync(Guid service, Guid characteristic, ReadOnlyMemory<byte> value, CancellationToken ct = default)
    {
        var path = Characteristic(service, characteristic);
        var bytes = value.ToArray();
        try
        {
            await BlueZBus.CallAsync(_adapter.Connection, path, BlueZBus.CharacteristicInterface, "WriteValue", "aya{sv}", (ref MessageWriter w) =>
            {
                w.WriteArray(bytes);
                w.WriteDictionary(new Dictionary<string, VariantValue> { ["type"] = "request" });
            }).WaitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DBusErrorReplyException or DBusConnectionClosedException)
        {
            throw BlueZBus.Explain(ex, "GATT write");
        }
    }

    public async Task<IAsyncDisposable?> SubscribeAsync(Guid service, Guid characteristic, Action<byte[]> onValue, CancellationToken ct = default)
    {
        var path = Characteristic(service, characteristic);
        var connection = _adapter.Connection;
        try
        {
            var match = await connection.AddMatchAsync(
                new MatchRule { Type = MessageType.Signal, Sender = BlueZBus.Service, Interface = BlueZBus.Properties, Member = "PropertiesChanged", Path = path },
                static (m, _) =>
                {
                    var r = m.GetBodyReader();
                    r.ReadString();
                    return BlueZBus.Bytes(BlueZBus.ReadProps(ref r), "Value");
                },
                n =>
                {
                    if (n.HasValue && n.Value is { } value)
                    {
                        onValue(value);
                    }
                }, false, ObserverFlags.None, null).ConfigureAwait(false);
            try
            {
                await BlueZBus.CallAsync(connection, path, BlueZBus.CharacteristicInterface, "StartNotify").WaitAsync(ct).ConfigureAwait(false);
            }
            catch
            {
                match.Dispose();
                throw;
            }
            return new Notifications(connection, path, match);
        }
        catch (DBusErrorReplyException ex) when (ex.ErrorName is "org.bluez.Error.NotSupported" or "org.bluez.Error.NotPermitted")
        {
            return null;
        }
        catch (Exception ex) when (ex is DBusErrorReplyException or DBusConnectionClosedException)
        {
            throw BlueZBus.Explain(ex, "GATT notify");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }
        try
        {
            await BlueZBus.CallAsync(_adapter.Connection, _path, BlueZBus.DeviceInterface, "Disconnect").ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DBusErrorReplyException or DBusConnectionClosedException or BleException)
        {
            // The link may already be gone; nothing is left to release.
        }
    }

    private sealed class Notifications(DBusConnection connection, string path, IDisposable match) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            match.Dispose();
            try
            {
                await BlueZBus.CallAsync(connection, path, BlueZBus.CharacteristicInterface, "StopNotify").ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DBusErrorReplyException or DBusConnectionClosedException)
            {
            }
        }
    }
}
