using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Ble;

/// <summary>How one adapter (local radio or station) sees a device.</summary>
public sealed record BleSighting(string Adapter, int Rssi, DateTimeOffset SeenAt);

/// <summary>A Shelly in range of one or more adapters, with its sightings and whether it already is in this fleet.</summary>
public sealed record BleDevice(ShellyAdvertisement Info, IReadOnlyList<BleSighting> Sightings, string? FleetDeviceId, bool Online)
{
    public string Address => Info.Address;

    /// <summary>True when the device is known to this fleet (it has connected on <c>/shelly</c>).</summary>
    public bool Provisioned => FleetDeviceId is not null;

    /// <summary>The adapter that hears the device best (highest RSSI).</summary>
    public BleSighting? Best => Sightings.Count == 0 ? null : Sightings.MaxBy(s => s.Rssi);

    public JsonObject ToJson() => new()
    {
        ["address"] = Address, ["name"] = Info.Name, ["id"] = FleetDeviceId ?? Info.DeviceId, ["mac"] = Info.Mac, ["model"] = Info.Model,
        ["modelId"] = Info.ModelId, ["flags"] = (int)Info.Flags, ["rpc"] = Info.Flags.HasFlag(ShellyBleFlags.RpcEnabled),
        ["auth"] = Info.Flags.HasFlag(ShellyBleFlags.AuthEnabled), ["provisioned"] = Provisioned, ["online"] = Online,
        ["rssi"] = Best?.Rssi, ["station"] = Best?.Adapter, ["lastSeen"] = Sightings.Count == 0 ? null : Sightings.Max(s => s.SeenAt).ToString("O"),
        ["sightings"] = new JsonArray(Sightings.Select(s => (JsonNode?)new JsonObject { ["adapter"] = s.Adapter, ["rssi"] = s.Rssi, ["seenAt"] = s.SeenAt.ToString("O") }).ToArray()),
    };
}

/// <summary>An adapter as the UI and API list it.</summary>
public sealed record BleAdapterInfo(string Name, string Kind, BleAdapterStatus Status)
{
    public JsonObject ToJson() => new() { ["name"] = Name, ["kind"] = Kind, ["state"] = Status.State.ToString(), ["detail"] = Status.Detail, ["usable"] = Status.Usable };
}

/// <summary>What kind of adapter this is, for display (BlueZ, station, simulated).</summary>
public interface IBleAdapterKind
{
    string Kind { get; }
}
