using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// The live picture of one device, shared by the hub (which updates it) and everything that reads it. Lock
/// <see cref="Gate"/> to read or change the JSON members; the scalar members may be read without it.
/// </summary>
public sealed partial class DeviceState(string id)
{
    public string Id { get; } = id;

    public Lock Gate { get; } = new();

    public string? Name { get; set; }

    public string? Model { get; set; }

    public string? App { get; set; }

    public int Gen { get; set; } = 2;

    public string? Mac { get; set; }

    public string? FirmwareVersion { get; set; }

    public string? Ip { get; set; }

    /// <summary>How the device last connected: <c>websocket</c> or <c>mqtt</c> (stored with the record).</summary>
    public string? Transport { get; set; }

    /// <summary>pending, accepted or denied.</summary>
    public string Admission { get; set; } = AdmissionStates.Pending;

    private byte[]? _info;
    private byte[]? _config;

    /// <summary>Shelly.GetDeviceInfo as last read (a fresh copy on each get).</summary>
    public JsonObject? Info
    {
        get => _info is null ? null : PackedJson.Unpack(_info);
        set => _info = value is null ? null : PackedJson.Pack(value);
    }

    /// <summary>Shelly.GetConfig as last read (a fresh copy on each get).</summary>
    public JsonObject? Config
    {
        get => _config is null ? null : PackedJson.Unpack(_config);
        set => _config = value is null ? null : PackedJson.Pack(value);
    }

    /// <summary>Replaces one component's config after <c>config_changed</c>.</summary>
    public void SetConfigComponent(string component, JsonNode? value)
    {
        var config = Config ?? [];
        config[component] = value?.DeepClone();
        Config = config;
    }

    /// <summary>Desired state ("shadow"): <c>{"switch:0":{"output":true}, "config":{"switch:0":{"name":"Heater"}}}</c>.</summary>
    public JsonObject? Desired { get; set; }

    public string[] Methods { get; set; } = [];

    public string[] Tags { get; set; } = [];

    public bool Online { get; set; }

    public DateTime FirstSeen { get; set; }

    public DateTime LastSeen { get; set; }

    public string? Password { get; set; }

    /// <summary>SHA-256 (hex) of the enrollment token bound to this device; a connection claiming its id must show it.</summary>
    public string? TokenHash { get; set; }

    /// <summary>
    /// The address an accepted device last connected from. A device admitted without a token proves its id by coming back
    /// from it; from anywhere else it waits in the waiting room as a claim until an operator accepts it (issue 13).
    /// </summary>
    public string? BoundAddress { get; set; }

    /// <summary>
    /// Known here only as another cluster instance's device (NatsCluster): never written to the store, and what only its
    /// owner's record holds (password, tags, desired state) is read from the store before this instance speaks for it.
    /// </summary>
    internal bool Mirrored { get; set; }

    /// <summary>
    /// Identity or admission changed: the record is written at the next flush — whole when new; an existing row keeps
    /// the fields users edit (name, tags, desired state), which their edits write themselves (<see cref="NameReported"/>).
    /// </summary>
    internal bool Dirty { get; set; }

    /// <summary>The device itself (or the flow speaking for it) reported a new name: the next flush writes the name too.</summary>
    internal bool NameReported { get; set; }

    /// <summary>Only status / last seen changed: written cheaply at the next status flush.</summary>
    internal bool StatusDirty { get; set; }

    internal long LastTelemetryMs { get; set; }

    /// <summary>
    /// Dropped from the registry (a user removed the device or, in a cluster, another instance did): a session may still hold
    /// this object until it closes, while <see cref="IDeviceStore.Get"/> no longer returns it.
    /// </summary>
    public bool Removed { get; internal set; }

    /// <summary>
    /// What one reader derives from this device's fields and keeps with it rather than in a table beside it (shelly in's
    /// <c>msg.device</c>: a table lookup per status frame cost cache misses, issue 19). Read and replaced whole by that reader;
    /// the registry never reads it.
    /// </summary>
    public object? Derived { get; set; }
}

public static class AdmissionStates
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Denied = "denied";
}
