using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

/// <summary>A page of devices for the REST API and the dashboard.</summary>
public sealed record DeviceQuery
{
    public string? Search { get; init; }

    public string? Model { get; init; }

    public string? Group { get; init; }

    public string? Tag { get; init; }

    public bool? Online { get; init; }

    public string? Admission { get; init; }

    /// <summary>name, id, model, online, lastSeen; prefix <c>-</c> for descending.</summary>
    public string Sort { get; init; } = "name";

    public int Offset { get; init; }

    public int Limit { get; init; } = 100;

    /// <summary>Only these devices (a user limited to some groups, see <see cref="DeviceAccess"/>); null: no limit.</summary>
    public IReadOnlySet<string>? Within { get; init; }
}

/// <summary>
/// The devices: every device ever seen (Shelly devices on the hub's transports, and devices flows upsert) with its identity,
/// admission, name, tags, last status and config and desired state. Reads are from memory; writes go to the fleet database.
/// Groups are <see cref="IGroupStore"/>'s, enrollment tokens <see cref="IEnrollmentTokenStore"/>'s.
/// </summary>
public interface IDeviceStore
{
    IEnumerable<DeviceState> All { get; }

    int Count { get; }

    /// <summary>
    /// Raised with <c>(deviceId, what)</c> when admission, name, tags, desired state or a device's groups change, or a
    /// device is added, updated by a flow or removed (the hub applies desired state, UIs refresh, a cluster announces it).
    /// </summary>
    event Action<string, string>? Changed;

    DeviceState? Get(string id);

    /// <summary>The device's state, created (as pending) the first time an id is seen.</summary>
    DeviceState Touch(string id, out bool created);

    /// <summary>A filtered, sorted page of devices and how many matched.</summary>
    (IReadOnlyList<DeviceState> Items, int Total) Query(DeviceQuery q);

    /// <summary>Ids named by a target: a device id, <c>group:NAME</c>, <c>tag:NAME</c>, <c>*</c> (all accepted devices).</summary>
    IReadOnlyList<string> Resolve(string target);

    /// <summary>Records what a device reported while connecting (info, config, status, methods).</summary>
    void ApplyIdentity(DeviceState d, JsonObject? info, JsonObject? config, JsonObject? status, string[]? methods);

    /// <summary>
    /// Creates or updates a device that is not a Shelly on the hub's transports (one a flow speaks to): <c>name, model, app,
    /// fw, ip, transport, online</c> and <c>status</c>. A new one is admitted at once.
    /// </summary>
    DeviceState UpsertExternal(string id, JsonObject fields);

    Task SetAdmissionAsync(string id, string admission, CancellationToken ct = default);

    /// <summary>Sets a known device's tags (<see cref="KeyNotFoundException"/> otherwise); blanks and commas are dropped.</summary>
    Task SetTagsAsync(string id, IEnumerable<string> tags, CancellationToken ct = default);

    Task SetNameAsync(string id, string? name, CancellationToken ct = default);

    /// <summary>Sets the desired state applied when the device is online (null or empty: none).</summary>
    Task SetDesiredAsync(string id, JsonObject? desired, CancellationToken ct = default);

    Task SetPasswordAsync(string id, string? password, CancellationToken ct = default);

    /// <summary>Forgets a device: its record and its group memberships.</summary>
    Task RemoveAsync(string id, CancellationToken ct = default);

    /// <summary>Creates or migrates the database, then loads devices and groups (at start).</summary>
    Task InitializeAsync(CancellationToken ct = default);

    /// <summary>Writes one device's whole record now.</summary>
    Task SaveAsync(DeviceState d, CancellationToken ct = default);

    /// <summary>Writes changed records and, with <paramref name="statuses"/>, reported statuses; returns how many devices.</summary>
    Task<int> FlushAsync(bool statuses = true, CancellationToken ct = default);

    /// <summary>Reads a device's user-edited fields and groups back from a store another instance shares (a cluster).</summary>
    Task RefreshAsync(string id, CancellationToken ct = default);

    /// <summary>A device known only as another instance's mirror connects here: fills what the mirror lacks from the stored record.</summary>
    Task AdoptMirrorAsync(DeviceState d, CancellationToken ct);
}
