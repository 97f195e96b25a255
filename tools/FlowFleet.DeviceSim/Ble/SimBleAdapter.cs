using FlowFleet.Fleet.Ble;

namespace FlowFleet.DeviceSim.Ble;

/// <summary>
/// A simulated Bluetooth adapter with simulated Shellies in range: it advertises them while scanning and connects to their
/// GATT RPC service. Devices added unprovisioned have a started but held websocket connection, so once provisioned over BLE
/// (Wi-Fi + outbound websocket + reboot) they connect to the server like real devices.
/// </summary>
public sealed class SimBleAdapter : IBleAdapter, IBleAdapterKind
{
    private readonly List<SimBleDevice> _devices = [];
    private readonly Dictionary<SimBleDevice, int> _rssi = [];
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private CancellationTokenSource? _scan;
    private Task? _scanLoop;
    private BleAdapterStatus _status = BleAdapterStatus.Ready;

    public SimBleAdapter(string name = "sim", TimeProvider? time = null)
    {
        Name = name;
        _time = time ?? TimeProvider.System;
    }

    public string Name { get; }

    public string Kind => "simulated";

    public BleAdapterStatus Status => _status;

    /// <summary>How often each device in range advertises while scanning.</summary>
    public TimeSpan AdvertiseInterval { get; set; } = TimeSpan.FromSeconds(1);

    public event Action<BleAdvertisement>? Advertisement;

    public event Action<IBleAdapter>? StatusChanged;

    public IReadOnlyList<SimBleDevice> Devices
    {
        get
        {
            lock (_gate)
            {
                return [.. _devices];
            }
        }
    }

    /// <summary>Puts a device in range. <paramref name="unprovisioned"/> resets it to factory state (no Wi-Fi, no websocket).</summary>
    public SimBleDevice Add(SimDevice device, int rssi = -60, bool unprovisioned = true, SimOptions? options = null, (string Ssid, string Password)? network = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        var connection = new SimConnection(device, options ?? new SimOptions { MinBackoff = TimeSpan.FromMilliseconds(200), MaxBackoff = TimeSpan.FromSeconds(5) });
        var ble = new SimBleDevice(device, connection, rssi, network);
        if (unprovisioned)
        {
            ble.ResetToFactory();
        }
        connection.Start();
        lock (_gate)
        {
            _devices.Add(ble);
        }
        return ble;
    }

    /// <summary>Puts a device another adapter has in range of this one too, heard at <paramref name="rssi"/> here (several stations).</summary>
    public void AddShared(SimBleDevice device, int rssi)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (_gate)
        {
            _devices.Add(device);
            _rssi[device] = rssi;
        }
    }

    /// <summary>Creates <paramref name="count"/> unprovisioned devices of mixed profiles (MACs from <paramref name="macPrefix"/>).</summary>
    public IReadOnlyList<SimBleDevice> AddUnprovisioned(int count, string macPrefix = "B1E000", string profile = "mix", (string Ssid, string Password)? network = null)
    {
        var fixedProfile = SimProfile.Find(profile);
        return [.. Enumerable.Range(0, count).Select(i => Add(new SimDevice(fixedProfile ?? SimProfile.Mix(i), i, macPrefix: macPrefix), -45 - i * 7, network: network))];
    }

    public Task StartScanAsync(CancellationToken ct = default)
    {
        lock (_gate)
        {
            if (_scan is not null)
            {
                return Task.CompletedTask;
            }
            _scan = new CancellationTokenSource();
            _scanLoop = AdvertiseLoopAsync(_scan.Token);
        }
        SetStatus(new BleAdapterStatus(BleAdapterState.Scanning));
        return Task.CompletedTask;
    }

    public async Task StopScanAsync(CancellationToken ct = default)
    {
        CancellationTokenSource? scan;
        Task? loop;
        lock (_gate)
        {
            (scan, loop, _scan, _scanLoop) = (_scan, _scanLoop, null, null);
        }
        if (scan is null)
        {
            return;
        }
        await scan.CancelAsync().ConfigureAwait(false);
        await loop!.ConfigureAwait(false);
        scan.Dispose();
        SetStatus(BleAdapterStatus.Ready);
    }

    private async Task AdvertiseLoopAsync(CancellationToken ct)
    {
        await Task.Yield();
        try
        {
            using var timer = new PeriodicTimer(AdvertiseInterval, _time);
            do
            {
                foreach (var d in Devices)
                {
                    var jitter = Random.Shared.Next(-3, 4);
                    var adv = d.Advertise(Name, jitter);
                    lock (_gate)
                    {
                        adv = _rssi.TryGetValue(d, out var here) ? adv with { Rssi = here + jitter } : adv;
                    }
                    Advertisement?.Invoke(adv);
                }
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public Task<IBleConnection> ConnectAsync(string address, CancellationToken ct = default)
    {
        SimBleDevice? device;
        lock (_gate)
        {
            device = _devices.FirstOrDefault(d => string.Equals(d.Address, address, StringComparison.OrdinalIgnoreCase));
            if (device is null)
            {
                throw new BleException($"{address} is not in range of {Name}");
            }
            if (device.Busy)
            {
                throw new BleException($"{address} is connected to another central");
            }
            device.Busy = true;
        }
        return Task.FromResult<IBleConnection>(new SimBleLink(device));
    }

    private void SetStatus(BleAdapterStatus status)
    {
        _status = status;
        StatusChanged?.Invoke(this);
    }

    public async ValueTask DisposeAsync()
    {
        await StopScanAsync().ConfigureAwait(false);
        foreach (var d in Devices)
        {
            await d.Connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A GATT connection to one simulated device.</summary>
    private sealed class SimBleLink(SimBleDevice device) : IBleConnection
    {
        private int _closed;

        public string Address => device.Address;

        public int MaxChunk => device.MaxChunk;

        public Task<byte[]> ReadAsync(Guid service, Guid characteristic, CancellationToken ct = default)
        {
            Check(service, ct);
            return Task.FromResult(device.Read(characteristic));
        }

        public async Task WriteAsync(Guid service, Guid characteristic, ReadOnlyMemory<byte> value, CancellationToken ct = default)
        {
            Check(service, ct);
            // A write with response takes a connection interval or so; yielding keeps callers honest about asynchrony.
            await Task.Yield();
            device.Write(characteristic, value.Span);
        }

        public Task<IAsyncDisposable?> SubscribeAsync(Guid service, Guid characteristic, Action<byte[]> onValue, CancellationToken ct = default)
        {
            Check(service, ct);
            if (characteristic != ShellyGatt.RxCtl || !device.NotifySupported)
            {
                return Task.FromResult<IAsyncDisposable?>(null);
            }
            device.RxCtlChanged += onValue;
            return Task.FromResult<IAsyncDisposable?>(new Unsubscribe(() => device.RxCtlChanged -= onValue));
        }

        private void Check(Guid service, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            if (Volatile.Read(ref _closed) == 1)
            {
                throw new BleException("disconnected");
            }
            if (service != ShellyGatt.RpcService)
            {
                throw new BleException($"service {service} not found");
            }
        }

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                device.Busy = false;
            }
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Unsubscribe(Action action) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            action();
            return ValueTask.CompletedTask;
        }
    }
}
