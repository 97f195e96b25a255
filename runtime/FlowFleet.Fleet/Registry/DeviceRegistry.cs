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

/// <summary>One bucket of a telemetry series.</summary>
public sealed record TelemetryPoint(long Ts, double Avg, double Min, double Max, double Last, int Count);

/// <summary>
/// The device registry: every device ever seen with its info, config, last status, admission, tags, groups and desired
/// state, kept in memory for fast reads and persisted to SQLite (EF Core) in batches, with the event log, command audit and
/// numeric telemetry written by a background writer.
/// </summary>
public sealed partial class DeviceRegistry(IDbContextFactory<FleetDbContext> dbFactory, IOptions<FleetOptions> options, ILogger<DeviceRegistry> logger)
{
    private readonly ConcurrentDictionary<string, DeviceState> _devices = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _groups = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<(int Group, string Device), byte> _members = new();
    private readonly Channel<TelemetryRecord> _telemetry = Channel.CreateBounded<TelemetryRecord>(new BoundedChannelOptions(200_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Channel<DeviceEventRecord> _events = Channel.CreateBounded<DeviceEventRecord>(new BoundedChannelOptions(50_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Channel<CommandAuditRecord> _audit = Channel.CreateBounded<CommandAuditRecord>(new BoundedChannelOptions(50_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly FleetOptions _options = options.Value;
    private StatusLimits? _limits;
    private long _telemetryDropped;

    public IEnumerable<DeviceState> All => _devices.Values;

    public int Count => _devices.Count;

    public long TelemetryDropped => Interlocked.Read(ref _telemetryDropped);

    /// <summary>Raised when admission, tags, groups or desired state change (the hub applies desired state, UIs refresh).</summary>
    public event Action<string, string>? Changed;

    public DeviceState? Get(string id) => _devices.GetValueOrDefault(id);

    /// <summary>Creates the database or migrates it to the current schema, then loads devices, groups and members.</summary>
    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.Database.MigrateAsync(ct);
        foreach (var r in await db.Devices.AsNoTracking().ToListAsync(ct))
        {
            _devices[r.Id] = FromRecord(r);
        }
        foreach (var g in await db.Groups.AsNoTracking().ToListAsync(ct))
        {
            _groups[g.Name] = g.Id;
        }
        foreach (var m in await db.GroupMembers.AsNoTracking().ToListAsync(ct))
        {
            _members[(m.GroupId, m.DeviceId)] = 0;
        }
        logger.LogInformation("Device registry: {Devices} devices, {Groups} groups", _devices.Count, _groups.Count);
    }

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

    public (IReadOnlyList<DeviceState> Items, int Total) Query(DeviceQuery q)
    {
        IEnumerable<DeviceState> items = _devices.Values;
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
            var members = Members(q.Group).ToHashSet(StringComparer.Ordinal);
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
                d.Name = JsonRead.Text(info.Field("name")) ?? d.Name;
            }
            if (config is not null)
            {
                d.Config = config;
                d.Name = JsonRead.Text(config.Field("sys").Field("device").Field("name")) ?? d.Name;
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

    private static readonly ConcurrentDictionary<string, string[]> s_methodLists = new(StringComparer.Ordinal);

    /// <summary>Devices of one model list the same methods: they share one array.</summary>
    private static string[] SharedMethods(string[] methods) =>
        s_methodLists.Count > 1000 ? methods : s_methodLists.GetOrAdd(string.Join('\n', methods), _ => methods.Select(string.Intern).ToArray());

    public async Task SetAdmissionAsync(string id, string admission, CancellationToken ct = default)
    {
        var d = Touch(id, out _);
        d.Admission = admission;
        await SaveAsync(d, ct);
        LogEvent(id, "admission", null, admission, null);
        Changed?.Invoke(id, "admission");
    }

    public async Task SetTagsAsync(string id, IEnumerable<string> tags, CancellationToken ct = default)
    {
        var d = Get(id) ?? throw new KeyNotFoundException($"No device '{id}'");
        d.Tags = tags.Select(t => t.Trim()).Where(t => t.Length > 0 && !t.Contains(',', StringComparison.Ordinal)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        await SaveAsync(d, ct);
        Changed?.Invoke(id, "tags");
    }

    public async Task SetNameAsync(string id, string? name, CancellationToken ct = default)
    {
        var d = Get(id) ?? throw new KeyNotFoundException($"No device '{id}'");
        d.Name = name;
        await SaveAsync(d, ct);
        Changed?.Invoke(id, "name");
    }

    public async Task SetDesiredAsync(string id, JsonObject? desired, CancellationToken ct = default)
    {
        var d = Get(id) ?? throw new KeyNotFoundException($"No device '{id}'");
        lock (d.Gate)
        {
            d.Desired = desired is null || desired.Count == 0 ? null : (JsonObject)desired.DeepClone();
        }
        await SaveAsync(d, ct);
        Changed?.Invoke(id, "desired");
    }

    public async Task SetPasswordAsync(string id, string? password, CancellationToken ct = default)
    {
        var d = Touch(id, out _);
        d.Password = password;
        await SaveAsync(d, ct);
    }

    public async Task RemoveAsync(string id, CancellationToken ct = default)
    {
        _devices.TryRemove(id, out _);
        foreach (var k in _members.Keys.Where(k => k.Device == id).ToList())
        {
            _members.TryRemove(k, out _);
        }
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.Devices.Where(x => x.Id == id).ExecuteDeleteAsync(ct);
        await db.GroupMembers.Where(x => x.DeviceId == id).ExecuteDeleteAsync(ct);
        Changed?.Invoke(id, "removed");
    }

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

    // ---- enrollment tokens ----

    public async Task<EnrollmentTokenRecord> CreateTokenAsync(string? name, CancellationToken ct = default)
    {
        var record = new EnrollmentTokenRecord { Token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), Name = name, CreatedAt = DateTime.UtcNow };
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.EnrollmentTokens.Add(record);
        await db.SaveChangesAsync(ct);
        return record;
    }

    public async Task<IReadOnlyList<EnrollmentTokenRecord>> TokensAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.EnrollmentTokens.AsNoTracking().OrderBy(t => t.CreatedAt).ToListAsync(ct);
    }

    public async Task<bool> RevokeTokenAsync(string token, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.EnrollmentTokens.Where(t => t.Token == token).ExecuteUpdateAsync(s => s.SetProperty(t => t.Revoked, true), ct) > 0;
    }

    /// <summary>True (and counts a use) when the token exists and is not revoked.</summary>
    /// <summary>What is stored of a token bound to a device: its SHA-256, hex.</summary>
    public static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));

    /// <summary>True when the token exists and is not revoked (an MQTT client signing in with it; no use is counted).</summary>
    public async Task<bool> IsTokenValidAsync(string token, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.EnrollmentTokens.AnyAsync(t => t.Token == token && !t.Revoked, ct);
    }

    public async Task<bool> UseTokenAsync(string token, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.EnrollmentTokens.Where(t => t.Token == token && !t.Revoked).ExecuteUpdateAsync(s => s.SetProperty(t => t.Uses, t => t.Uses + 1), ct) > 0;
    }

    // ---- persistence of device records ----

    public async Task SaveAsync(DeviceState d, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await UpsertAsync(db, [d], ct);
    }

    /// <summary>
    /// Writes devices whose record changed (whole row, EF Core) and, with <paramref name="statuses"/>, the status and last-seen
    /// time of devices that only reported (one prepared UPDATE per device in one transaction: no tracking, no reloading).
    /// </summary>
    public async Task<int> FlushAsync(bool statuses = true, CancellationToken ct = default)
    {
        var written = 0;
        var dirty = _devices.Values.Where(d => d.Dirty).ToList();
        if (dirty.Count > 0)
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            foreach (var chunk in dirty.Chunk(500))
            {
                await UpsertAsync(db, chunk, ct);
            }
            written += dirty.Count;
        }
        if (statuses)
        {
            written += await FlushStatusesAsync(ct);
        }
        return written;
    }

    private async Task<int> FlushStatusesAsync(CancellationToken ct)
    {
        var changed = _devices.Values.Where(d => d.StatusDirty && !d.Dirty).ToList();
        if (changed.Count == 0)
        {
            return 0;
        }
        await _saveLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            await db.Database.OpenConnectionAsync(ct);
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            await using var cmd = db.Database.GetDbConnection().CreateCommand();
            cmd.Transaction = tx.GetDbTransaction();
            cmd.CommandText = "UPDATE Devices SET StatusJson = $s, LastSeen = $t, Ip = $ip WHERE Id = $id";
            var ps = Parameter(cmd, "$s");
            var pt = Parameter(cmd, "$t");
            var pip = Parameter(cmd, "$ip");
            var pid = Parameter(cmd, "$id");
            await cmd.PrepareAsync(ct);
            foreach (var d in changed)
            {
                lock (d.Gate)
                {
                    d.StatusDirty = false;
                    ps.Value = d.StatusJson();
                    pt.Value = d.LastSeen;
                    pip.Value = (object?)d.Ip ?? DBNull.Value;
                    pid.Value = d.Id;
                }
                await cmd.ExecuteNonQueryAsync(ct);
            }
            await tx.CommitAsync(ct);
        }
        finally
        {
            _saveLock.Release();
        }
        return changed.Count;
    }

    private readonly SemaphoreSlim _saveLock = new(1, 1);

    /// <summary>Device rows are written one batch at a time, so two writers never insert the same new device.</summary>
    private async Task UpsertAsync(FleetDbContext db, IReadOnlyList<DeviceState> states, CancellationToken ct)
    {
        await _saveLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await UpsertCoreAsync(db, states, ct).ConfigureAwait(false);
        }
        finally
        {
            _saveLock.Release();
        }
    }

    private static async Task UpsertCoreAsync(FleetDbContext db, IReadOnlyList<DeviceState> states, CancellationToken ct)
    {
        var ids = states.Select(s => s.Id).ToList();
        var existing = await db.Devices.Where(r => ids.Contains(r.Id)).ToDictionaryAsync(r => r.Id, ct);
        foreach (var d in states)
        {
            if (!existing.TryGetValue(d.Id, out var r))
            {
                r = new DeviceRecord { Id = d.Id };
                db.Devices.Add(r);
            }
            lock (d.Gate)
            {
                d.Dirty = false;
                d.StatusDirty = false;
                r.Name = d.Name;
                r.Model = d.Model;
                r.App = d.App;
                r.Gen = d.Gen;
                r.Mac = d.Mac;
                r.FirmwareVersion = d.FirmwareVersion;
                r.Ip = d.Ip;
                r.Admission = d.Admission;
                r.InfoJson = d.Info?.ToJsonString();
                r.ConfigJson = d.Config?.ToJsonString();
                r.StatusJson = d.StatusJson();
                r.DesiredJson = d.Desired?.ToJsonString();
                r.MethodsJson = new JsonArray(d.Methods.Select(m => (JsonNode?)m).ToArray()).ToJsonString();
                r.Tags = string.Join(',', d.Tags);
                r.Password = d.Password;
                r.TokenHash = d.TokenHash;
                r.BoundAddress = d.BoundAddress;
                r.FirstSeen = d.FirstSeen;
                r.LastSeen = d.LastSeen;
            }
        }
        await db.SaveChangesAsync(ct);
    }

    private DeviceState FromRecord(DeviceRecord r)
    {
        var d = Record(r);
        if (Parse(r.StatusJson) is { } status)
        {
            // A status stored before the limits existed (or under larger ones) is held to them: start-up stays fast.
            d.ReplaceStatus(status, d.Admission == AdmissionStates.Accepted ? _limits ??= _options.StatusLimits : _options.PendingStatusLimits);
        }
        return d;
    }

    private static DeviceState Record(DeviceRecord r) => new(r.Id)
    {
        Name = r.Name, Model = r.Model, App = r.App, Gen = r.Gen, Mac = r.Mac, FirmwareVersion = r.FirmwareVersion, Ip = r.Ip, Admission = r.Admission,
        Info = Parse(r.InfoJson), Config = Parse(r.ConfigJson), Desired = Parse(r.DesiredJson),
        Methods = SharedMethods(JsonRead.Strings(JsonNode.Parse(r.MethodsJson ?? "[]"))),
        Tags = r.Tags.Split(',', StringSplitOptions.RemoveEmptyEntries), Password = r.Password, TokenHash = r.TokenHash, BoundAddress = r.BoundAddress, FirstSeen = r.FirstSeen, LastSeen = r.LastSeen,
    };

    private static JsonObject? Parse(string? json) => json is null ? null : JsonNode.Parse(json) as JsonObject;

    // ---- events, audit, telemetry ----

    public void LogEvent(string deviceId, string kind, string? component, string? evt, JsonNode? data) =>
        _events.Writer.TryWrite(new DeviceEventRecord
        {
            DeviceId = deviceId, Kind = kind, Component = component, Event = evt, DataJson = data?.ToJsonString(), Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        });

    public void LogCommand(string? user, string deviceId, string method, JsonNode? parameters, bool ok, string? error, double durationMs) =>
        _audit.Writer.TryWrite(new CommandAuditRecord
        {
            User = user, DeviceId = deviceId, Method = method, ParamsJson = parameters?.ToJsonString(), Ok = ok, Error = error, DurationMs = durationMs,
            Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        });

    /// <summary>Numbers sampled from one status report at most.</summary>
    internal const int MaxTelemetryFields = 256;

    /// <summary>Samples the numeric fields of a status delta into telemetry (at most once per <see cref="FleetOptions.TelemetryInterval"/> per device).</summary>
    public void RecordTelemetry(DeviceState d, JsonObject delta, bool force = false)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (!force && now - d.LastTelemetryMs < _options.TelemetryInterval.TotalMilliseconds)
        {
            return;
        }
        d.LastTelemetryMs = now;
        var fields = new List<KeyValuePair<string, double>>();
        foreach (var (key, value) in delta)
        {
            if (value is JsonObject o && key is not ("sys" or "cloud" or "mqtt" or "ws" or "ble" or "ts"))
            {
                ShellyFrames.FlattenNumbers(o, key, fields);
            }
        }
        if (fields.Count > MaxTelemetryFields)
        {
            // Real devices report a few dozen numbers; more is noise that would crowd out other devices' samples.
            fields.RemoveRange(MaxTelemetryFields, fields.Count - MaxTelemetryFields);
        }
        foreach (var (field, v) in fields)
        {
            if (!_telemetry.Writer.TryWrite(new TelemetryRecord { DeviceId = d.Id, Field = field, Ts = now, Value = v }))
            {
                Interlocked.Increment(ref _telemetryDropped);
            }
        }
    }

    /// <summary>Queues one telemetry value (the <c>db write</c> node); false when the queue is full.</summary>
    public bool RecordPoint(string deviceId, string field, double value, long? tsMs = null)
    {
        var ok = _telemetry.Writer.TryWrite(new TelemetryRecord { DeviceId = deviceId, Field = field, Ts = tsMs ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Value = value });
        if (!ok)
        {
            Interlocked.Increment(ref _telemetryDropped);
        }
        return ok;
    }

    public async Task<IReadOnlyList<TelemetryPoint>> TelemetryAsync(string deviceId, string field, long fromMs, long toMs, long bucketMs, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Telemetry.AsNoTracking().Where(t => t.DeviceId == deviceId && t.Field == field && t.Ts >= fromMs && t.Ts <= toMs)
            .OrderBy(t => t.Ts).Select(t => new { t.Ts, t.Value }).ToListAsync(ct);
        bucketMs = Math.Max(1, bucketMs);
        return rows.GroupBy(r => r.Ts / bucketMs * bucketMs)
            .Select(g => new TelemetryPoint(g.Key, g.Average(x => x.Value), g.Min(x => x.Value), g.Max(x => x.Value), g.Last().Value, g.Count()))
            .ToList();
    }

    public async Task<IReadOnlyList<string>> TelemetryFieldsAsync(string deviceId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Telemetry.AsNoTracking().Where(t => t.DeviceId == deviceId).Select(t => t.Field).Distinct().OrderBy(f => f).ToListAsync(ct);
    }

    public async Task<IReadOnlyList<DeviceEventRecord>> EventLogAsync(string deviceId, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Events.AsNoTracking().Where(e => e.DeviceId == deviceId).OrderByDescending(e => e.Id).Take(Math.Clamp(limit, 1, 1000)).ToListAsync(ct);
    }

    public async Task<IReadOnlyList<CommandAuditRecord>> AuditLogAsync(string? deviceId, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = db.Audit.AsNoTracking();
        if (deviceId is not null)
        {
            q = q.Where(a => a.DeviceId == deviceId);
        }
        return await q.OrderByDescending(a => a.Id).Take(Math.Clamp(limit, 1, 1000)).ToListAsync(ct);
    }

    /// <summary>Adds a row to a named table (the <c>db write</c> node).</summary>
    public async Task<long> InsertRowAsync(string table, JsonNode row, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(table) || table.Length > 64)
        {
            throw new ArgumentException("Table names are 1-64 characters");
        }
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var r = new DataRowRecord { Table = table, Json = row.ToJsonString(), Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        db.DataRows.Add(r);
        await db.SaveChangesAsync(ct);
        return r.Id;
    }

    public async Task<IReadOnlyList<DataRowRecord>> RowsAsync(string table, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.DataRows.AsNoTracking().Where(r => r.Table == table).OrderByDescending(r => r.Id).Take(Math.Clamp(limit, 1, 10_000)).ToListAsync(ct);
    }

    /// <summary>Writes queued telemetry, events and audit records in one transaction; returns how many rows.</summary>
    public async Task<int> WriteQueuedAsync(CancellationToken ct = default)
    {
        var telemetry = Drain(_telemetry.Reader, 50_000);
        var events = Drain(_events.Reader, 10_000);
        var audit = Drain(_audit.Reader, 10_000);
        if (telemetry.Count + events.Count + audit.Count == 0)
        {
            return 0;
        }
        // Once drained, a batch is written whatever the caller's token says (shutdown cancels it mid-write), and a batch
        // that fails goes back to its queues for the next try: nothing drained may be lost.
        try
        {
            return await WriteBatchAsync(telemetry, events, audit);
        }
        catch
        {
            Requeue(_telemetry.Writer, telemetry);
            Requeue(_events.Writer, events);
            Requeue(_audit.Writer, audit);
            throw;
        }
    }

    private static void Requeue<T>(ChannelWriter<T> writer, List<T> items)
    {
        foreach (var item in items)
        {
            writer.TryWrite(item);
        }
    }

    private async Task<int> WriteBatchAsync(List<TelemetryRecord> telemetry, List<DeviceEventRecord> events, List<CommandAuditRecord> audit)
    {
        var ct = CancellationToken.None;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.Database.OpenConnectionAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (telemetry.Count > 0)
        {
            await using var cmd = db.Database.GetDbConnection().CreateCommand();
            cmd.CommandText = "INSERT INTO Telemetry (DeviceId, Field, Ts, Value) VALUES ($d, $f, $t, $v)";
            var pd = Parameter(cmd, "$d");
            var pf = Parameter(cmd, "$f");
            var pt = Parameter(cmd, "$t");
            var pv = Parameter(cmd, "$v");
            cmd.Transaction = tx.GetDbTransaction();
            await cmd.PrepareAsync(ct);
            foreach (var t in telemetry)
            {
                pd.Value = t.DeviceId;
                pf.Value = t.Field;
                pt.Value = t.Ts;
                pv.Value = t.Value;
                await cmd.ExecuteNonQueryAsync(ct);
            }
        }
        db.Events.AddRange(events);
        db.Audit.AddRange(audit);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return telemetry.Count + events.Count + audit.Count;
    }

    /// <summary>Deletes telemetry past retention and trims each device's event log.</summary>
    public async Task<int> ApplyRetentionAsync(CancellationToken ct = default)
    {
        var cutoff = DateTimeOffset.UtcNow.Add(-_options.TelemetryRetention).ToUnixTimeMilliseconds();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var deleted = await db.Telemetry.Where(t => t.Ts < cutoff).ExecuteDeleteAsync(ct);
        deleted += await db.Database.ExecuteSqlRawAsync(
            "DELETE FROM DeviceEvents WHERE Id IN (SELECT Id FROM (SELECT Id, ROW_NUMBER() OVER (PARTITION BY DeviceId ORDER BY Id DESC) AS n FROM DeviceEvents) WHERE n > {0})",
            [_options.EventLogPerDevice], ct);
        return deleted;
    }

    private static System.Data.Common.DbParameter Parameter(System.Data.Common.DbCommand cmd, string name)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        cmd.Parameters.Add(p);
        return p;
    }

    private static List<T> Drain<T>(ChannelReader<T> reader, int max)
    {
        var list = new List<T>();
        while (list.Count < max && reader.TryRead(out var item))
        {
            list.Add(item);
        }
        return list;
    }
}
