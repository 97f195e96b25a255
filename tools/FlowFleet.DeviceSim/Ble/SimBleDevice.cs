using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Ble;

namespace FlowFleet.DeviceSim.Ble;

/// <summary>
/// The BLE side of a simulated Shelly: it advertises (company 0x0BA9 blocks) and serves the GATT RPC service with the real
/// framing (length to <c>tx_ctl</c>, request to <c>data</c>, length on <c>rx_ctl</c>, answer read from <c>data</c> in chunks).
/// An unprovisioned device keeps its websocket held until it is rebooted with Wi-Fi credentials that match
/// <see cref="Network"/> and an outbound server: then it connects on <c>/shelly</c> like a real one.
/// </summary>
public sealed class SimBleDevice
{
    private readonly Lock _gate = new();
    private readonly MemoryStream _incoming = new();
    private uint _expected;
    private byte[]? _answer;
    private int _answerOffset;

    public SimBleDevice(SimDevice device, SimConnection connection, int rssi, (string Ssid, string Password)? network = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(connection);
        Device = device;
        Connection = connection;
        Rssi = rssi;
        Network = network;
        Address = BleAddressOf(device.Mac);
        device.Rebooting += delay => _ = RebootAsync(delay);
    }

    public SimDevice Device { get; }

    public SimConnection Connection { get; }

    /// <summary>The BLE address: the Wi-Fi MAC + 2, as Shelly devices use.</summary>
    public string Address { get; }

    public string LocalName => Device.Profile.Name.Replace("Shelly ", "Shelly", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal) + "-" + Device.Mac;

    /// <summary>Signal strength the adapter sees (a little jitter is added per advertisement).</summary>
    public int Rssi { get; set; }

    /// <summary>The Wi-Fi network the device can join; null = any SSID works.</summary>
    public (string Ssid, string Password)? Network { get; set; }

    /// <summary>Largest value one read or write carries (MTU - 3).</summary>
    public int MaxChunk { get; set; } = 128;

    /// <summary>Fault injection: the next N requests get no answer (rx_ctl stays 0), as when a device drops a frame.</summary>
    public int DropAnswers { get; set; }

    /// <summary>Fault injection: the next N GATT writes fail.</summary>
    public int FailWrites { get; set; }

    /// <summary>Whether rx_ctl notifications work (some stacks only poll).</summary>
    public bool NotifySupported { get; set; } = true;

    /// <summary>Requests received over GATT, and the largest one.</summary>
    public int Frames { get; private set; }

    public int LargestRequest { get; private set; }

    /// <summary>Data writes of the last request (to check chunking).</summary>
    public int LastRequestWrites { get; private set; }

    internal bool Busy { get; set; }

    internal event Action<byte[]>? RxCtlChanged;

    /// <summary>The model id this simulator advertises for the device's profile.</summary>
    public int ModelId => Device.Profile.Key switch
    {
        "plus1pm" => 0x1001, "plus2pm-cover" => 0x1030, "dimmer" => 0x1050, "pro3em" => 0x1060, "i4" => 0x1070, "ht" => 0x1080, _ => 0x10FF,
    };

    public BleAdvertisement Advertise(string adapter, int jitter = 0)
    {
        var flags = ShellyBleFlags.Discoverable | ShellyBleFlags.RpcEnabled | (Device.AuthEnabled ? ShellyBleFlags.AuthEnabled : 0);
        var data = ShellyAdvertisement.EncodeBlocks(flags, Device.Mac, ModelId);
        return new BleAdvertisement(Address, LocalName, Rssi + jitter, new Dictionary<ushort, byte[]> { [ShellyGatt.CompanyId] = data }, adapter);
    }

    internal void Write(Guid characteristic, ReadOnlySpan<byte> value)
    {
        byte[]? notify = null;
        lock (_gate)
        {
            if (FailWrites > 0)
            {
                FailWrites--;
                throw new BleException("GATT write failed (simulated)");
            }
            if (characteristic == ShellyGatt.TxCtl)
            {
                if (value.Length != 4)
                {
                    throw new BleException("tx_ctl takes 4 bytes");
                }
                _expected = BinaryPrimitives.ReadUInt32BigEndian(value);
                _incoming.SetLength(0);
                _answer = null;
                LastRequestWrites = 0;
                return;
            }
            if (characteristic != ShellyGatt.Data)
            {
                throw new BleException($"characteristic {characteristic} is not writable");
            }
            if (_incoming.Length + value.Length > _expected)
            {
                throw new BleException("more data than tx_ctl announced");
            }
            _incoming.Write(value);
            LastRequestWrites++;
            if (_incoming.Length < _expected)
            {
                return;
            }
            Frames++;
            LargestRequest = Math.Max(LargestRequest, (int)_expected);
            if (DropAnswers > 0)
            {
                DropAnswers--;
                return;
            }
            _answer = Answer(_incoming.ToArray());
            _answerOffset = 0;
            notify = RxCtl();
        }
        if (NotifySupported)
        {
            RxCtlChanged?.Invoke(notify);
        }
    }

    internal byte[] Read(Guid characteristic)
    {
        lock (_gate)
        {
            if (characteristic == ShellyGatt.RxCtl)
            {
                return RxCtl();
            }
            if (characteristic != ShellyGatt.Data)
            {
                throw new BleException($"characteristic {characteristic} is not readable");
            }
            if (_answer is null)
            {
                return [];
            }
            var take = Math.Min(MaxChunk, _answer.Length - _answerOffset);
            var part = _answer.AsSpan(_answerOffset, take).ToArray();
            _answerOffset += take;
            if (_answerOffset >= _answer.Length)
            {
                _answer = null;
            }
            return part;
        }
    }

    private byte[] RxCtl()
    {
        var o = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(o, _answer is null || _answerOffset > 0 ? 0u : (uint)_answer.Length);
        return o;
    }

    private byte[] Answer(byte[] request)
    {
        JsonObject? frame;
        try
        {
            frame = JsonNode.Parse(request) as JsonObject;
        }
        catch (JsonException)
        {
            frame = null;
        }
        var response = frame is null
            ? new JsonObject { ["id"] = null, ["src"] = Device.Id, ["error"] = new JsonObject { ["code"] = -32700, ["message"] = "Parse error" } }
            : Device.HandleFrame(frame, "BLE", localChannel: true) ?? new JsonObject { ["id"] = frame["id"]?.DeepClone(), ["src"] = Device.Id, ["result"] = null };
        return JsonSerializer.SerializeToUtf8Bytes(response);
    }

    /// <summary>After a reboot the device joins Wi-Fi when its station config matches the network, then opens its websocket.</summary>
    private async Task RebootAsync(TimeSpan delay)
    {
        await Task.Delay(delay + SimConnection.BootTime).ConfigureAwait(false);
        var sta = Device.Config("wifi")?["sta"];
        var ssid = sta?["ssid"]?.GetValue<string>();
        var pass = sta?["pass"]?.GetValue<string>();
        var joins = sta?["enable"]?.GetValue<bool>() == true && !string.IsNullOrEmpty(ssid)
            && (Network is not { } n || (n.Ssid == ssid && n.Password == (pass ?? "")));
        Connection.Held = !joins;
    }

    /// <summary>Wi-Fi MAC + 2, formatted <c>AA:BB:CC:DD:EE:FF</c>.</summary>
    public static string BleAddressOf(string mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        var value = (long.Parse(mac.Replace(":", "", StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture) + 2) & 0xFFFFFFFFFFFF;
        var hex = value.ToString("X12", CultureInfo.InvariantCulture);
        return string.Join(':', Enumerable.Range(0, 6).Select(i => hex.Substring(i * 2, 2)));
    }

    /// <summary>Puts the device in its out-of-box state: no Wi-Fi station, no outbound websocket, connection held.</summary>
    public void ResetToFactory()
    {
        Device.Call("WiFi.SetConfig", new JsonObject { ["config"] = new JsonObject { ["sta"] = new JsonObject { ["ssid"] = null, ["pass"] = null, ["enable"] = false } } }, "init");
        Device.SetOutboundServer(null);
        Connection.Held = true;
    }
}
