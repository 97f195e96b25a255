using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// Every device ever seen with its info, config, last status, admission, tags and desired state, kept in memory for fast
/// reads and written to the fleet database (SQLite, or PostgreSQL in a cluster) in batches, in plain SQL (<see cref="FleetSql"/>).
/// </summary>
public sealed partial class DeviceStore(IDbContextFactory<FleetDbContext> dbFactory, FleetSql sql, IGroupStore groups, IEventLog eventLog, IOptions<FleetOptions> options, ILogger<DeviceStore> logger,
    FleetSqliteDatabase? sqlite = null)
    : IDeviceStore
{
    private readonly ConcurrentDictionary<string, DeviceState> _devices = new(StringComparer.Ordinal);
    private readonly FleetOptions _options = options.Value;
    private StatusLimits? _limits;

    /// <summary>
    /// Every device, walked live. Not <c>_devices.Values</c>: that takes all the dictionary's locks and copies every device
    /// into a new array each time (at 20,000 devices 160 KB on the large object heap, for each waiting-room check of a new
    /// device, each stats request and metrics scrape).
    /// </summary>
    public IEnumerable<DeviceState> All => _devices.Select(static d => d.Value);

    public int Count => _devices.Count;

    private Action<string, string>? _changed;

    /// <summary>
    /// Raised when admission, name, tags, desired state or a device's groups change (the hub applies desired state, UIs
    /// refresh); a subscriber hears the <see cref="IGroupStore.Changed"/> events too, so one feed says what changed about devices.
    /// </summary>
    public event Action<string, string>? Changed
    {
        add
        {
            _changed += value;
            groups.Changed += value;
        }
        remove
        {
            _changed -= value;
            groups.Changed -= value;
        }
    }

    public DeviceState? Get(string id) => _devices.GetValueOrDefault(id);

    /// <summary>The device's state, created (as pending) the first time an id is seen.</summary>
    public DeviceState Touch(string id, out bool created)
    {
        var isNew = false;
        var state = _devices.GetOrAdd(id, key =>
        {
            isNew = true;
            return new DeviceState(key) { FirstSeen = DateTime.UtcNow, LastSeen = DateTime.UtcNow, Dirty = true };
        });
        created = isNew;
        return state;
    }

    public (IReadOnlyList<DeviceState> Items, int Total) Query(DeviceQuery q)
    {
        var items = All;
        if (!string.IsNullOrWhiteSpace(q.Search))
        {
            var s = q.Search.Trim();
            items = items.Where(d => d.Id.Contains(s, StringComparison.OrdinalIgnoreCase) || (d.Name?.Contains(s, StringComparison.OrdinalIgnoreCase) ?? false)
                || (d.Model?.Contains(s, StringComparison.OrdinalIgnoreCase) ?? false) || (d.Ip?.Contains(s, StringComparison.Ordinal) ?? false));
        }
        if (!string.IsNullOrWhiteSpace(q.Model))
        {
            items = items.Where(d => string.Equals(d.Model, q.Model, StringComparison.OrdinalIgnoreCase) || string.Equals(d.App, q.Model, StringComparison.OrdinalIgnoreCase));
        }
        if (!string.IsNullOrWhiteSpace(q.Group))
        {
            var members = groups.Members(q.Group).ToHashSet(StringComparer.Ordinal);
            items = items.Where(d => members.Contains(d.Id));
        }
        if (!string.IsNullOrWhiteSpace(q.Tag))
        {
            items = items.Where(d => d.Tags.Contains(q.Tag, StringComparer.OrdinalIgnoreCase));
        }
        if (q.Within is { } within)
        {
            items = items.Where(d => within.Contains(d.Id));
        }
        if (q.Online is { } online)
        {
            items = items.Where(d => d.Online == online);
        }
        items = items.Where(d => q.Admission is null ? d.Admission == AdmissionStates.Accepted : d.Admission == q.Admission || q.Admission == "any");
        var desc = q.Sort.StartsWith('-');
        var key = q.Sort.TrimStart('-', '+').ToLowerInvariant();
        IOrderedEnumerable<DeviceState> sorted = key switch
        {
            "id" => desc ? items.OrderByDescending(d => d.Id, StringComparer.Ordinal) : items.OrderBy(d => d.Id, StringComparer.Ordinal),
            "model" => desc ? items.OrderByDescending(d => d.Model, StringComparer.OrdinalIgnoreCase) : items.OrderBy(d => d.Model, StringComparer.OrdinalIgnoreCase),
            "online" => desc ? items.OrderByDescending(d => d.Online) : items.OrderBy(d => d.Online),
            "lastseen" => desc ? items.OrderByDescending(d => d.LastSeen) : items.OrderBy(d => d.LastSeen),
            _ => desc ? items.OrderByDescending(d => d.Name ?? d.Id, StringComparer.OrdinalIgnoreCase) : items.OrderBy(d => d.Name ?? d.Id, StringComparer.OrdinalIgnoreCase),
        };
        var list = sorted.ThenBy(d => d.Id, StringComparer.Ordinal).ToList();
        return (list.Skip(Math.Max(0, q.Offset)).Take(Math.Clamp(q.Limit, 1, 10_000)).ToList(), list.Count);
    }

    /// <summary>Records what a device reported while connecting (info, config, status, methods) and marks it online.</summary>
    public void ApplyIdentity(DeviceState d, JsonObject? info, JsonObject? config, JsonObject? status, string[]? methods)
    {
        lock (d.Gate)
        {
            if (info is not null)
            {
                d.Info = info;
                d.Model = JsonRead.Text(info.Field("model")) ?? d.Model;
                d.App = JsonRead.Text(info.Field("app")) ?? d.App;
                d.Mac = JsonRead.Text(info.Field("mac")) ?? d.Mac;
                d.FirmwareVersion = JsonRead.Text(info.Field("ver")) ?? d.FirmwareVersion;
                d.Gen = JsonRead.Number(info.Field("gen")) is { } gen and >= 0 and <= 100 ? (int)gen : d.Gen;
                Rename(d, JsonRead.Text(info.Field("name")));
            }
            if (config is not null)
            {
                d.Config = config;
                Rename(d, JsonRead.Text(config.Field("sys").Field("device").Field("name")));
            }
            if (status is not null)
            {
                d.ReplaceStatus(status, _limits ??= _options.StatusLimits);
                d.Ip = JsonRead.Text(status.Field("wifi").Field("sta_ip")) ?? d.Ip;
            }
            if (methods is not null)
            {
                d.Methods = SharedMethods(methods);
            }
            d.Dirty = true;
        }
    }

    /// <summary>The device's own name, when it reports one that differs (caller holds the gate).</summary>
    private static void Rename(DeviceState d, string? reported)
    {
        if (reported is not null && reported != d.Name)
        {
            d.Name = reported;
            d.NameReported = true;
        }
    }

    private static readonly ConcurrentDictionary<string, string[]> s_methodLists = new(StringComparer.Ordinal);

    /// <summary>Devices of one model list the same methods: they share one array.</summary>
    private static string[] SharedMethods(string[] methods) =>
        s_methodLists.Count > 1000 ? methods : s_methodLists.GetOrAdd(string.Join('\n', methods), _ => methods.Select(string.Intern).ToArray());

    public async Task SetAdmissionAsync(string id, string admission, CancellationToken ct = default)
    {
        var d = Touch(id, out _);
        d.Admission = admission;
        await SaveColumnsAsync(d, ct, ("Admission", admission));
        eventLog.LogEvent(id, "admission", null, admission, null);
        _changed?.Invoke(id, "admission");
    }

    public async Task SetTagsAsync(string id, IEnumerable<string> tags, CancellationToken ct = default)
    {
        var d = Get(id) ?? throw new KeyNotFoundException($"No device '{id}'");
        d.Tags = tags.Select(t => t.Trim()).Where(t => t.Length > 0 && !t.Contains(',', StringComparison.Ordinal)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        await SaveUserFieldsAsync(d, ct);
        _changed?.Invoke(id, "tags");
    }

    public async Task SetNameAsync(string id, string? name, CancellationToken ct = default)
    {
        var d = Get(id) ?? throw new KeyNotFoundException($"No device '{id}'");
        d.Name = name;
        await SaveUserFieldsAsync(d, ct);
        _changed?.Invoke(id, "name");
    }

    public async Task SetDesiredAsync(string id, JsonObject? desired, CancellationToken ct = default)
    {
        var d = Get(id) ?? throw new KeyNotFoundException($"No device '{id}'");
        lock (d.Gate)
        {
            d.Desired = desired is null || desired.Count == 0 ? null : (JsonObject)desired.DeepClone();
        }
        await SaveUserFieldsAsync(d, ct);
        _changed?.Invoke(id, "desired");
    }

    public async Task SetPasswordAsync(string id, string? password, CancellationToken ct = default)
    {
        var d = Touch(id, out _);
        d.Password = password;
        await SaveColumnsAsync(d, ct, ("Password", password));
    }

    public async Task RemoveAsync(string id, CancellationToken ct = default)
    {
        if (_devices.TryRemove(id, out var gone))
        {
            gone.Removed = true;
        }
        await groups.ForgetDeviceAsync(id, ct);
        await using var c = await sql.OpenAsync(ct).ConfigureAwait(false);
        await SqlCommands.ExecuteAsync(c, null, "DELETE FROM \"Devices\" WHERE \"Id\" = @id", ct, ("@id", id)).ConfigureAwait(false);
        _changed?.Invoke(id, "removed");
    }

    /// <summary>Ids named by a target: a device id, <c>group:NAME</c>, <c>tag:NAME</c>, <c>*</c> (all accepted devices).</summary>
    public IReadOnlyList<string> Resolve(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target == "*")
        {
            return All.Where(d => d.Admission == AdmissionStates.Accepted).Select(d => d.Id).OrderBy(x => x, StringComparer.Ordinal).ToList();
        }
        if (target.StartsWith("group:", StringComparison.OrdinalIgnoreCase))
        {
            return groups.Members(target[6..]);
        }
        if (target.StartsWith("tag:", StringComparison.OrdinalIgnoreCase))
        {
            var tag = target[4..];
            return All.Where(d => d.Tags.Contains(tag, StringComparer.OrdinalIgnoreCase)).Select(d => d.Id).OrderBy(x => x, StringComparer.Ordinal).ToList();
        }
        return [target];
    }
}
