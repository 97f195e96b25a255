using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Ble;

/// <summary>
/// All BLE adapters of this server (local and remote stations) and the Shellies they hear: scanning, the in-range list with
/// RSSI per adapter, the best adapter per device, and RPC over GATT to a device through it (one operation per device at a time).
/// </summary>
public sealed partial class BleService : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, IBleAdapter> _adapters = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Entry> _seen = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _deviceLocks = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Action> _listeners = [];
    private readonly Lock _listenersGate = new();
    private readonly IDeviceStore? _devices;
    private readonly DeviceHub? _hub;
    private readonly ILogger<BleService> _logger;
    private readonly TimeProvider _time;
    private long _lastNotify;

    public BleService(IEnumerable<IBleAdapter> adapters, IDeviceStore? devices = null, DeviceHub? hub = null, ILogger<BleService>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        _devices = devices;
        _hub = hub;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger<BleService>.Instance;
        _time = time ?? TimeProvider.System;
        foreach (var a in adapters)
        {
            Add(a);
        }
    }

    /// <summary>Framing options of RPC calls (timeouts, retries, polling).</summary>
    public ShellyBleRpcOptions RpcOptions { get; set; } = new();

    /// <summary>A device not heard for this long leaves the in-range list.</summary>
    public TimeSpan InRangeFor { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>True while a scan was asked for (adapters added meanwhile start scanning too).</summary>
    public bool Scanning { get; private set; }

    /// <summary>Raised for the first advertisement of a device (and again once it was out of range).</summary>
    public event Action<BleDevice>? DeviceFound;

    // Held while an advertisement decides "found" and while WatchFound reads the in-range list and subscribes, so a device is
    // either in that list or found afterwards, never both.
    private readonly Lock _foundGate = new();

    /// <summary>
    /// Calls <paramref name="found"/> for each device found from now on (as <see cref="DeviceFound"/>) and, with
    /// <paramref name="inRange"/>, first for each device already in range: a device heard meanwhile is reported once.
    /// Dispose to stop.
    /// </summary>
    public IDisposable WatchFound(Action<BleDevice> found, bool inRange)
    {
        ArgumentNullException.ThrowIfNull(found);
        IReadOnlyList<BleDevice> current;
        lock (_foundGate)
        {
            current = inRange ? InRange() : [];
            DeviceFound += found;
        }
        foreach (var d in current)
        {
            found(d);
        }
        return new FoundWatch(this, found);
    }

    private sealed class FoundWatch(BleService ble, Action<BleDevice> found) : IDisposable
    {
        public void Dispose() => ble.DeviceFound -= found;
    }

    public IReadOnlyList<BleAdapterInfo> Adapters =>
        [.. _adapters.Values.OrderBy(a => a.Name, StringComparer.Ordinal).Select(a => new BleAdapterInfo(a.Name, (a as IBleAdapterKind)?.Kind ?? "adapter", a.Status))];

    public IBleAdapter? Adapter(string name) => _adapters.GetValueOrDefault(name);

    /// <summary>Adds an adapter (a station that connected); one with the same name is replaced.</summary>
    public void Add(IBleAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        if (_adapters.TryGetValue(adapter.Name, out var old) && !ReferenceEquals(old, adapter))
        {
            Remove(old);
        }
        _adapters[adapter.Name] = adapter;
        adapter.Advertisement += OnAdvertisement;
        adapter.StatusChanged += OnStatusChanged;
        LogAdapter(adapter.Name, adapter.Status.ToString());
        if (Scanning)
        {
            _ = StartScanOnAsync(adapter);
        }
        Notify(force: true);
    }

    public void Remove(IBleAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        if (_adapters.TryGetValue(adapter.Name, out var current) && ReferenceEquals(current, adapter))
        {
            _adapters.TryRemove(adapter.Name, out _);
        }
        adapter.Advertisement -= OnAdvertisement;
        adapter.StatusChanged -= OnStatusChanged;
        foreach (var e in _seen.Values)
        {
            e.Sightings.TryRemove(adapter.Name, out _);
        }
        Notify(force: true);
    }

    private void OnStatusChanged(IBleAdapter adapter)
    {
        LogAdapter(adapter.Name, adapter.Status.ToString());
        Notify(force: true);
    }

    private void OnAdvertisement(BleAdvertisement adv)
    {
        if (ShellyAdvertisement.Decode(adv) is not { } info)
        {
            return;
        }
        var now = _time.GetUtcNow();
        var fresh = false;
        Entry entry;
        Action<BleDevice>? found;
        lock (_foundGate)
        {
            entry = _seen.AddOrUpdate(info.Address, _ => { fresh = true; return new Entry(info); }, (_, e) =>
            {
                if (e.Sightings.Values.All(s => now - s.SeenAt > InRangeFor))
                {
                    fresh = true;
                }
                e.Info = info;
                return e;
            });
            entry.Sightings[adv.Adapter] = new BleSighting(adv.Adapter, adv.Rssi, now);
            found = fresh ? DeviceFound : null;
        }
        // Outside the gate: handlers send into flows and may wait.
        found?.Invoke(Describe(entry, now)!);
        Notify(force: fresh);
    }

    /// <summary>The Shellies heard within <see cref="InRangeFor"/>, strongest first.</summary>
    public IReadOnlyList<BleDevice> InRange()
    {
        var now = _time.GetUtcNow();
        return [.. _seen.Values.Select(e => Describe(e, now)).OfType<BleDevice>().OrderByDescending(d => d.Best?.Rssi ?? int.MinValue).ThenBy(d => d.Address, StringComparer.Ordinal)];
    }

    public BleDevice? Find(string addressOrId)
    {
        ArgumentNullException.ThrowIfNull(addressOrId);
        return InRange().FirstOrDefault(d => string.Equals(d.Address, addressOrId, StringComparison.OrdinalIgnoreCase)
            || string.Equals(d.FleetDeviceId ?? d.Info.DeviceId, addressOrId, StringComparison.OrdinalIgnoreCase)
            || string.Equals(d.Info.MacHex, addressOrId.Replace(":", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase));
    }

    private BleDevice? Describe(Entry e, DateTimeOffset now)
    {
        var usable = e.Sightings.Values.Where(s => now - s.SeenAt <= InRangeFor && _adapters.TryGetValue(s.Adapter, out var a) && a.Status.Usable).OrderByDescending(s => s.Rssi).ToList();
        if (usable.Count == 0)
        {
            return null;
        }
        var fleetId = FleetIdOf(e.Info);
        return new BleDevice(e.Info, usable, fleetId, fleetId is not null && _hub?.IsOnline(fleetId) == true);
    }

    private string? FleetIdOf(ShellyAdvertisement info)
    {
        if (_devices is null)
        {
            return null;
        }
        if (info.DeviceId is { } id && _devices.Get(id) is not null)
        {
            return id;
        }
        var mac = info.MacHex;
        return mac is null ? null : _devices.All.FirstOrDefault(d => string.Equals(d.Mac?.Replace(":", "", StringComparison.Ordinal), mac, StringComparison.OrdinalIgnoreCase))?.Id;
    }

    public async Task StartScanAsync(CancellationToken ct = default)
    {
        Scanning = true;
        await Task.WhenAll(_adapters.Values.Select(StartScanOnAsync)).ConfigureAwait(false);
        Notify(force: true);
    }

    private async Task StartScanOnAsync(IBleAdapter adapter)
    {
        try
        {
            await adapter.StartScanAsync().ConfigureAwait(false);
        }
        catch (BleException ex)
        {
            LogScanFailed(adapter.Name, ex.Message);
        }
    }

    public async Task StopScanAsync(CancellationToken ct = default)
    {
        Scanning = false;
        foreach (var a in _adapters.Values)
        {
            try
            {
                await a.StopScanAsync(ct).ConfigureAwait(false);
            }
            catch (BleException ex)
            {
                LogScanFailed(a.Name, ex.Message);
            }
        }
        Notify(force: true);
    }

    /// <summary>
    /// Connects to a device through <paramref name="adapterName"/> (or the adapter that hears it best) and runs
    /// <paramref name="work"/> with an RPC channel; one operation per device at a time. Throws <see cref="BleException"/>.
    /// </summary>
    public async Task<T> WithDeviceAsync<T>(string addressOrId, string? adapterName, Func<ShellyBleRpc, string, Task<T>> work, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var device = Find(addressOrId) ?? throw new BleException($"{addressOrId} is not in range of any adapter (scan first)");
        var adapter = PickAdapter(device, adapterName);
        var gate = _deviceLocks.GetOrAdd(device.Address, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await using var connection = await adapter.ConnectAsync(device.Address, ct).ConfigureAwait(false);
            await using var rpc = new ShellyBleRpc(connection, RpcOptions, _time);
            return await work(rpc, adapter.Name).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>One RPC over BLE; the result and the adapter that carried it.</summary>
    public Task<(JsonNode? Result, string Adapter)> CallAsync(string addressOrId, string method, JsonNode? parameters, string? adapterName = null, CancellationToken ct = default) =>
        WithDeviceAsync(addressOrId, adapterName, async (rpc, via) => (await rpc.CallAsync(method, parameters, ct).ConfigureAwait(false), via), ct);

    private IBleAdapter PickAdapter(BleDevice device, string? adapterName)
    {
        if (!string.IsNullOrEmpty(adapterName))
        {
            return _adapters.TryGetValue(adapterName, out var named) && named.Status.Usable ? named : throw new BleException($"adapter {adapterName} is not available");
        }
        foreach (var s in device.Sightings)
        {
            if (_adapters.TryGetValue(s.Adapter, out var a) && a.Status.Usable)
            {
                return a;
            }
        }
        throw new BleException($"no usable adapter hears {device.Address}");
    }

    /// <summary>Called on any change (adapters, devices found, RSSI at most twice a second); dispose to stop.</summary>
    public IDisposable Subscribe(Action changed)
    {
        lock (_listenersGate)
        {
            _listeners.Add(changed);
        }
        return new Subscription(this, changed);
    }

    private void Notify(bool force)
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastNotify);
        if (!force && _time.GetElapsedTime(last, now) < TimeSpan.FromMilliseconds(500))
        {
            return;
        }
        Interlocked.Exchange(ref _lastNotify, now);
        Action[] listeners;
        lock (_listenersGate)
        {
            listeners = [.. _listeners];
        }
        foreach (var l in listeners)
        {
            l();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var a in _adapters.Values)
        {
            await a.DisposeAsync().ConfigureAwait(false);
        }
        _adapters.Clear();
    }

    private sealed class Entry(ShellyAdvertisement info)
    {
        public ShellyAdvertisement Info { get; set; } = info;

        public ConcurrentDictionary<string, BleSighting> Sightings { get; } = new(StringComparer.OrdinalIgnoreCase);
    }

    private sealed class Subscription(BleService owner, Action action) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._listenersGate)
            {
                owner._listeners.Remove(action);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "BLE adapter {Name}: {Status}")]
    private partial void LogAdapter(string name, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "BLE adapter {Name} cannot scan: {Reason}")]
    private partial void LogScanFailed(string name, string reason);
}
