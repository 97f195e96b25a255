using System.Buffers.Binary;
using System.Globalization;

namespace FlowFleet.Fleet.Ble;

/// <summary>Shelly's GATT RPC service and its characteristics (shared/protocols/shelly-gen2.md §5).</summary>
public static class ShellyGatt
{
    public const ushort CompanyId = 0x0BA9;

    public static readonly Guid RpcService = new("5f6d4f53-5f52-5043-5f53-56435f49445f");

    public static readonly Guid Data = new("5f6d4f53-5f52-5043-5f64-6174615f5f5f");

    public static readonly Guid TxCtl = new("5f6d4f53-5f52-5043-5f74-785f63746c5f");

    public static readonly Guid RxCtl = new("5f6d4f53-5f52-5043-5f72-785f63746c5f");
}

/// <summary>Flags of a Shelly advertisement (block 0x01).</summary>
[Flags]
public enum ShellyBleFlags
{
    None = 0,
    Discoverable = 1,
    AuthEnabled = 2,
    RpcEnabled = 4,
    Buzzer = 8,
    PairingMode = 16,
}

/// <summary>What a Shelly advertisement tells: its Wi-Fi MAC, model and flags, decoded once from company 0x0BA9 data.</summary>
public sealed record ShellyAdvertisement(string Address, string? Name, string? Mac, int? ModelId, ShellyBleFlags Flags)
{
    private static readonly Dictionary<int, string> s_models = new()
    {
        [0x1000] = "SNSW-001X16EU", [0x1001] = "SNSW-001P16EU",
    };

    /// <summary>
    /// The model: Shelly's model code for the ids the spec names (<c>SNSW-001P16EU</c> for Plus 1PM), else the name's
    /// prefix (<c>ShellyPlus2PM</c>), else the id in hex.
    /// </summary>
    public string? Model =>
        ModelId is { } m && s_models.TryGetValue(m, out var code) ? code
        : Name is { } n && n.LastIndexOf('-') is var dash and > 0 ? n[..dash]
        : ModelId is { } id ? "0x" + id.ToString("X4", CultureInfo.InvariantCulture) : null;

    /// <summary>The device id a Shelly uses on its websocket: the name's prefix before the MAC, lower-cased, plus the MAC.</summary>
    public string? DeviceId
    {
        get
        {
            var mac = Mac?.Replace(":", "", StringComparison.Ordinal).ToLowerInvariant();
            if (Name is { } n && n.LastIndexOf('-') is var dash and > 0)
            {
                return n[..dash].ToLowerInvariant() + "-" + (mac ?? n[(dash + 1)..].ToLowerInvariant());
            }
            return mac is null ? null : "shelly-" + mac;
        }
    }

    /// <summary>The Wi-Fi MAC without separators, upper case (<c>CCBA97C2D670</c>), the form Shelly's device info uses.</summary>
    public string? MacHex => Mac?.Replace(":", "", StringComparison.Ordinal);

    /// <summary>Decodes an advertisement; null when it is not a Shelly's (no 0x0BA9 data and no <c>shelly</c> name prefix).</summary>
    public static ShellyAdvertisement? Decode(BleAdvertisement adv)
    {
        ArgumentNullException.ThrowIfNull(adv);
        var named = adv.Name?.StartsWith("shelly", StringComparison.OrdinalIgnoreCase) == true;
        if (!adv.ManufacturerData.TryGetValue(ShellyGatt.CompanyId, out var data))
        {
            return named ? new ShellyAdvertisement(adv.Address, adv.Name, MacFromName(adv.Name!), null, ShellyBleFlags.None) : null;
        }
        var (flags, mac, model) = DecodeBlocks(data);
        return new ShellyAdvertisement(adv.Address, adv.Name, mac ?? (named ? MacFromName(adv.Name!) : null), model, flags);
    }

    /// <summary>Reads the <c>type + data</c> blocks; an unknown type ends the walk (its length is not known), a short block too.</summary>
    public static (ShellyBleFlags Flags, string? Mac, int? Model) DecodeBlocks(ReadOnlySpan<byte> data)
    {
        var flags = ShellyBleFlags.None;
        string? mac = null;
        int? model = null;
        var i = 0;
        while (i < data.Length)
        {
            var type = data[i++];
            var need = type switch { 0x01 => 2, 0x0A => 6, 0x0B => 2, _ => -1 };
            if (need < 0 || i + need > data.Length)
            {
                break;
            }
            var block = data.Slice(i, need);
            i += need;
            switch (type)
            {
                case 0x01:
                    flags = (ShellyBleFlags)BinaryPrimitives.ReadUInt16LittleEndian(block);
                    break;
                case 0x0A:
                    var reversed = block.ToArray();
                    Array.Reverse(reversed);
                    mac = string.Join(':', reversed.Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));
                    break;
                case 0x0B:
                    model = BinaryPrimitives.ReadUInt16LittleEndian(block);
                    break;
            }
        }
        return (flags, mac, model);
    }

    /// <summary>Builds the manufacturer data a Shelly advertises (the simulator and tests use it).</summary>
    public static byte[] EncodeBlocks(ShellyBleFlags flags, string mac, int model)
    {
        ArgumentNullException.ThrowIfNull(mac);
        var hex = mac.Replace(":", "", StringComparison.Ordinal);
        var bytes = Convert.FromHexString(hex);
        if (bytes.Length != 6)
        {
            throw new ArgumentException("A MAC has 6 bytes", nameof(mac));
        }
        bytes.AsSpan().Reverse();
        var o = new byte[3 + 7 + 3];
        o[0] = 0x01;
        BinaryPrimitives.WriteUInt16LittleEndian(o.AsSpan(1), (ushort)flags);
        o[3] = 0x0B;
        BinaryPrimitives.WriteUInt16LittleEndian(o.AsSpan(4), (ushort)model);
        o[6] = 0x0A;
        bytes.CopyTo(o, 7);
        return o;
    }

    private static string? MacFromName(string name)
    {
        var dash = name.LastIndexOf('-');
        var tail = dash < 0 ? "" : name[(dash + 1)..];
        if (tail.Length != 12 || !tail.All(char.IsAsciiHexDigit))
        {
            return null;
        }
        return string.Join(':', Enumerable.Range(0, 6).Select(k => tail.Substring(k * 2, 2).ToUpperInvariant()));
    }
}
