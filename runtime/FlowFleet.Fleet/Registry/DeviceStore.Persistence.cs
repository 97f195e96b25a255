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

/// <summary>Device records in SQLite: loaded at start, written in batches from the in-memory state.</summary>
public sealed partial class DeviceStore
{
    private readonly Lock _initializeGate = new();
    private Task? _initialization;

    /// <summary>
    /// Creates the database or migrates it to the current schema, then loads devices and (<see cref="IGroupStore"/>) groups:
    /// on SQLite with plain SQL when the schema is new or current (<see cref="FleetSqliteStart"/>), else through EF Core.
    /// Runs once: a later call gets the same task (the server begins it beside its start, the fleet service awaits it).
    /// </summary>
    public Task InitializeAsync(CancellationToken ct = default)
    {
        lock (_initializeGate)
        {
            return _initialization ??= InitializeCoreAsync(ct);
        }
    }

    private async Task InitializeCoreAsync(CancellationToken ct)
    {
        if (sqlite is not null && await FleetSqliteStart.TryLoadAsync(sqlite.ConnectionString, ct) is { } loaded)
        {
            foreach (var r in loaded.Devices)
            {
                _devices[r.Id] = FromRecord(r);
            }
            groups.Load(loaded.Groups, loaded.Members);
        }
        else
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            await db.Database.MigrateAsync(ct);
            foreach (var r in await db.Devices.AsNoTracking().ToListAsync(ct))
            {
                _devices[r.Id] = FromRecord(r);
            }
            await groups.RefreshAsync(ct);
        }
        logger.LogInformation("Device store: {Devices} devices, {Groups} groups", _devices.Count, groups.GroupNames.Count);
    }

    /// <summary>
    /// A device this instance knew only as another instance's mirror connects here: the record the owner wrote to the store
    /// (a shared PostgreSQL) supplies what the mirror lacks, so taking the device over loses none of it.
    /// </summary>
    public async Task AdoptMirrorAsync(DeviceState d, CancellationToken ct)
    {
        if (!d.Mirrored)
        {
            return;
        }
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var r = await db.Devices.AsNoTracking().FirstOrDefaultAsync(x => x.Id == d.Id, ct);
        lock (d.Gate)
        {
            if (r is not null)
            {
                d.Name ??= r.Name;
                d.Password ??= r.Password;
                d.TokenHash ??= r.TokenHash;
                d.BoundAddress ??= r.BoundAddress;
                d.Desired ??= Parse(r.DesiredJson);
                d.FirstSeen = r.FirstSeen;
                if (d.Tags.Length == 0)
                {
                    d.Tags = r.Tags.Split(',', StringSplitOptions.RemoveEmptyEntries);
                }
            }
            d.Mirrored = false;
        }
    }

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
        var dirty = All.Where(d => d.Dirty).ToList();
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
        var changed = All.Where(d => d.StatusDirty && !d.Dirty).ToList();
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
            // Quoted names and @parameters: the same text runs on SQLite and PostgreSQL (Storage:Provider).
            cmd.CommandText = "UPDATE \"Devices\" SET \"StatusJson\" = @s, \"LastSeen\" = @t, \"Ip\" = @ip WHERE \"Id\" = @id";
            var ps = SqlCommands.Parameter(cmd, "@s");
            var pt = SqlCommands.Parameter(cmd, "@t");
            var pip = SqlCommands.Parameter(cmd, "@ip");
            var pid = SqlCommands.Parameter(cmd, "@id");
            await SqlCommands.PrepareAsync(cmd, ct);
            foreach (var d in changed)
            {
                lock (d.Gate)
                {
                    d.StatusDirty = false;
                    ps.Value = d.StatusJson();
                    // UTC as the model's DateTimes are (PostgreSQL's timestamptz takes only UTC-kinded values; SQLite ignores the kind).
                    pt.Value = DateTime.SpecifyKind(d.LastSeen, DateTimeKind.Utc);
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

    /// <summary>
    /// Device rows are written one batch at a time, so two writers of this instance never insert the same new device. On a
    /// store shared by a cluster another instance may insert one between our read and our insert (a user's edit of a device
    /// it mirrors): with <paramref name="overwrite"/> the batch is read again and written as updates, else the conflict is thrown.
    /// </summary>
    private async Task UpsertAsync(FleetDbContext db, IReadOnlyList<DeviceState> states, CancellationToken ct, bool overwrite = true)
    {
        await _saveLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            try
            {
                await UpsertCoreAsync(db, states, ct).ConfigureAwait(false);
            }
            catch (DbUpdateException) when (overwrite && !ct.IsCancellationRequested)
            {
                db.ChangeTracker.Clear();
                await UpsertCoreAsync(db, states, ct).ConfigureAwait(false);
            }
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
            var stored = existing.TryGetValue(d.Id, out var found);
            var r = found ?? new DeviceRecord { Id = d.Id };
            if (!stored)
            {
                db.Devices.Add(r);
            }
            lock (d.Gate)
            {
                d.Dirty = false;
                d.StatusDirty = false;
                // A stored row keeps the fields users edit: their edits write those columns themselves (SaveUserFieldsAsync),
                // and on a shared store this instance's copy may predate an edit made through another instance a moment
                // ago (the owner's write would undo it). EF writes only the properties assigned a different value.
                if (!stored || d.NameReported)
                {
                    r.Name = d.Name;
                }
                d.NameReported = false;
                if (!stored)
                {
                    r.DesiredJson = d.Desired?.ToJsonString();
                    r.Tags = string.Join(',', d.Tags);
                }
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
                r.MethodsJson = new JsonArray(d.Methods.Select(m => (JsonNode?)m).ToArray()).ToJsonString();
                r.Password = d.Password;
                r.TokenHash = d.TokenHash;
                r.BoundAddress = d.BoundAddress;
                r.Transport = d.Transport;
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
        Tags = r.Tags.Split(',', StringSplitOptions.RemoveEmptyEntries), Password = r.Password, TokenHash = r.TokenHash, BoundAddress = r.BoundAddress, Transport = r.Transport, FirstSeen = r.FirstSeen, LastSeen = r.LastSeen,
    };

    private static JsonObject? Parse(string? json) => json is null ? null : JsonNode.Parse(json) as JsonObject;
}
