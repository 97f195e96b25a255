namespace FlowFleet.Fleet.Registry;

/// <summary>
/// Device groups and their members: a device is in any number of groups; targets such as <c>group:NAME</c> resolve to the
/// members (<see cref="IDeviceStore.Resolve"/>). Names compare case-insensitively.
/// </summary>
public interface IGroupStore
{
    /// <summary>Raised with <c>("", "groups")</c> when groups are created, renamed, deleted or read back, and with
    /// <c>(deviceId, "groups")</c> when a device's membership changes.</summary>
    event Action<string, string>? Changed;

    IReadOnlyList<string> GroupNames { get; }

    /// <summary>Group names with their database ids (Shelly's fleet manager names groups by number).</summary>
    IReadOnlyList<(int Id, string Name)> GroupIds { get; }

    bool Exists(string group);

    /// <summary>The groups a device is in, by name.</summary>
    IReadOnlyList<string> GroupsOf(string deviceId);

    /// <summary>Ids of the members of a group (empty if there is no such group).</summary>
    IReadOnlyList<string> Members(string group);

    /// <summary>Creates a group; <see cref="ArgumentException"/> without a name, <see cref="InvalidOperationException"/> when it exists.</summary>
    Task<int> CreateGroupAsync(string name, string? description = null, CancellationToken ct = default);

    /// <summary>Renames a group; false when there is no such group or the new name is taken.</summary>
    Task<bool> RenameGroupAsync(string name, string newName, CancellationToken ct = default);

    /// <summary>Deletes a group and its memberships; <see cref="KeyNotFoundException"/> when there is no such group.</summary>
    Task DeleteGroupAsync(string name, CancellationToken ct = default);

    /// <summary>
    /// Adds a device to a group or removes it; <see cref="KeyNotFoundException"/> when there is no such group. The device is
    /// one the caller found in <see cref="IDeviceStore"/> (the group store does not know devices).
    /// </summary>
    Task SetMembershipAsync(string group, string deviceId, bool member, CancellationToken ct = default);

    /// <summary>Loads all groups and memberships (at start, and when another instance of a cluster changed them).</summary>
    Task RefreshAsync(CancellationToken ct = default);

    /// <summary>Replaces the groups and memberships in memory with these stored rows (what <see cref="RefreshAsync"/> read).</summary>
    void Load(IReadOnlyList<GroupRecord> groups, IReadOnlyList<GroupMemberRecord> members);

    /// <summary>Reads one device's memberships back (another instance changed them).</summary>
    Task RefreshDeviceAsync(string deviceId, CancellationToken ct = default);

    /// <summary>Drops a removed device from every group, in memory and in the store.</summary>
    Task ForgetDeviceAsync(string deviceId, CancellationToken ct = default);

    /// <summary>Drops a device from every group in memory only (the store no longer holds it: another instance removed it).</summary>
    void DropDevice(string deviceId);
}
