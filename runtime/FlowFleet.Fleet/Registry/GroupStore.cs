using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;

namespace FlowFleet.Fleet.Registry;

/// <summary>Groups in memory for fast reads (targets resolve on every fleet node message), written through to the fleet database.</summary>
public sealed class GroupStore(IDbContextFactory<FleetDbContext> dbFactory) : IGroupStore
{
    private readonly ConcurrentDictionary<string, int> _groups = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<(int Group, string Device), byte> _members = new();

    public event Action<string, string>? Changed;

    public IReadOnlyList<string> GroupNames => _groups.Keys.OrderBy(n => n, StringComparer.OrdinalIgnoreCase).ToList();

    public IReadOnlyList<(int Id, string Name)> GroupIds => _groups.Select(g => (g.Value, g.Key)).OrderBy(g => g.Value).ToList();

    public bool Exists(string group) => _groups.ContainsKey(group);

    public IReadOnlyList<string> GroupsOf(string deviceId) =>
        _groups.Where(g => _members.ContainsKey((g.Value, deviceId))).Select(g => g.Key).OrderBy(n => n, StringComparer.OrdinalIgnoreCase).ToList();

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

    public async Task RefreshAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        Load(await db.Groups.AsNoTracking().ToListAsync(ct), await db.GroupMembers.AsNoTracking().ToListAsync(ct));
    }

    public void Load(IReadOnlyList<GroupRecord> groups, IReadOnlyList<GroupMemberRecord> members)
    {
        foreach (var name in _groups.Keys.Where(n => !groups.Any(g => string.Equals(g.Name, n, StringComparison.OrdinalIgnoreCase))).ToList())
        {
            _groups.TryRemove(name, out _);
        }
        foreach (var g in groups)
        {
            _groups[g.Name] = g.Id;
        }
        var stored = members.Select(m => (m.GroupId, m.DeviceId)).ToHashSet();
        foreach (var k in _members.Keys.Where(k => !stored.Contains(k)).ToList())
        {
            _members.TryRemove(k, out _);
        }
        foreach (var m in members)
        {
            _members[(m.GroupId, m.DeviceId)] = 0;
        }
        Changed?.Invoke("", "groups");
    }

    public async Task RefreshDeviceAsync(string deviceId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var groups = await db.GroupMembers.AsNoTracking().Where(m => m.DeviceId == deviceId).Select(m => m.GroupId).ToListAsync(ct);
        DropDevice(deviceId);
        foreach (var g in groups)
        {
            _members[(g, deviceId)] = 0;
        }
    }

    public async Task ForgetDeviceAsync(string deviceId, CancellationToken ct = default)
    {
        DropDevice(deviceId);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.GroupMembers.Where(x => x.DeviceId == deviceId).ExecuteDeleteAsync(ct);
    }

    public void DropDevice(string deviceId)
    {
        foreach (var k in _members.Keys.Where(k => k.Device == deviceId).ToList())
        {
            _members.TryRemove(k, out _);
        }
    }
}
