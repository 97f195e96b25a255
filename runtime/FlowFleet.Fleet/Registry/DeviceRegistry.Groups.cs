using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowFleet.Fleet.Protocol;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowFleet.Fleet.Registry;

/// <summary>Groups and group membership (a device is in any number of groups; targets such as group:NAME resolve to members).</summary>
public sealed partial class DeviceRegistry
{
    public IReadOnlyList<string> GroupsOf(string deviceId) =>
        _groups.Where(g => _members.ContainsKey((g.Value, deviceId))).Select(g => g.Key).OrderBy(n => n, StringComparer.OrdinalIgnoreCase).ToList();

    public IReadOnlyList<string> GroupNames => _groups.Keys.OrderBy(n => n, StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>Group names with their database ids (Shelly's fleet manager names groups by number).</summary>
    public IReadOnlyList<(int Id, string Name)> GroupIds => _groups.Select(g => (g.Value, g.Key)).OrderBy(g => g.Value).ToList();

    /// <summary>Renames a group; false when there is no such group or the new name is taken.</summary>
    public async Task<bool> RenameGroupAsync(string name, string newName, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(newName) || _groups.ContainsKey(newName.Trim()) || !_groups.TryRemove(name, out var gid))
        {
            return false;
        }
        _groups[newName.Trim()] = gid;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.Groups.Where(g => g.Id == gid).ExecuteUpdateAsync(u => u.SetProperty(g => g.Name, newName.Trim()), ct);
        Changed?.Invoke("", "groups");
        return true;
    }

    /// <summary>Ids of the members of a group (empty if there is no such group).</summary>
    public IReadOnlyList<string> Members(string group) =>
        _groups.TryGetValue(group, out var gid) ? _members.Keys.Where(k => k.Group == gid).Select(k => k.Device).OrderBy(x => x, StringComparer.Ordinal).ToList() : [];

    public async Task<int> CreateGroupAsync(string name, string? description = null, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("A group needs a name");
        }
        if (_groups.ContainsKey(name))
        {
            throw new InvalidOperationException($"Group '{name}' exists");
        }
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var g = new GroupRecord { Name = name.Trim(), Description = description };
        db.Groups.Add(g);
        await db.SaveChangesAsync(ct);
        _groups[g.Name] = g.Id;
        Changed?.Invoke("", "groups");
        return g.Id;
    }

    public async Task DeleteGroupAsync(string name, CancellationToken ct = default)
    {
        if (!_groups.TryRemove(name, out var gid))
        {
            throw new KeyNotFoundException($"No group '{name}'");
        }
        foreach (var k in _members.Keys.Where(k => k.Group == gid).ToList())
        {
            _members.TryRemove(k, out _);
        }
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.GroupMembers.Where(m => m.GroupId == gid).ExecuteDeleteAsync(ct);
        await db.Groups.Where(g => g.Id == gid).ExecuteDeleteAsync(ct);
        Changed?.Invoke("", "groups");
    }

    public async Task SetMembershipAsync(string group, string deviceId, bool member, CancellationToken ct = default)
    {
        if (!_groups.TryGetValue(group, out var gid))
        {
            throw new KeyNotFoundException($"No group '{group}'");
        }
        if (!_devices.ContainsKey(deviceId))
        {
            throw new KeyNotFoundException($"No device '{deviceId}'");
        }
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (member && _members.TryAdd((gid, deviceId), 0))
        {
            db.GroupMembers.Add(new GroupMemberRecord { GroupId = gid, DeviceId = deviceId });
            await db.SaveChangesAsync(ct);
        }
        else if (!member && _members.TryRemove((gid, deviceId), out _))
        {
            await db.GroupMembers.Where(m => m.GroupId == gid && m.DeviceId == deviceId).ExecuteDeleteAsync(ct);
        }
        Changed?.Invoke(deviceId, "groups");
    }

    /// <summary>Ids named by a target: a device id, <c>group:NAME</c>, <c>tag:NAME</c>, <c>*</c> (all accepted devices).</summary>
    public IReadOnlyList<string> Resolve(string target)
    {
        if (target == "*")
        {
            return _devices.Values.Where(d => d.Admission == AdmissionStates.Accepted).Select(d => d.Id).OrderBy(x => x, StringComparer.Ordinal).ToList();
        }
        if (target.StartsWith("group:", StringComparison.OrdinalIgnoreCase))
        {
            return Members(target[6..]);
        }
        if (target.StartsWith("tag:", StringComparison.OrdinalIgnoreCase))
        {
            var tag = target[4..];
            return _devices.Values.Where(d => d.Tags.Contains(tag, StringComparer.OrdinalIgnoreCase)).Select(d => d.Id).OrderBy(x => x, StringComparer.Ordinal).ToList();
        }
        return [target];
    }
}
