using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowFleet.Fleet.Protocol;
using Microsoft.EntityFrameworkCore;
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

    public async Task SaveAsync(DeviceState d, CancellationToken ct = default) => await UpsertAsync([d], ct).ConfigureAwait(false);

    /// <summary>
    /// Writes devices whose record changed (whole row, keeping what users edit) and, with <paramref name="statuses"/>, the
    /// status and last-seen time of devices that only reported: plain SQL, one transaction per 500 devices (<see cref="FleetSql"/>).
    /// </summary>
    public async Task<int> FlushAsync(bool statuses = true, CancellationToken ct = default)
    {
        var written = 0;
        var dirty = All.Where(d => d.Dirty).ToList();
        foreach (var chunk in dirty.Chunk(500))
        {
            await UpsertAsync(chunk, ct).ConfigureAwait(false);
        }
        written += dirty.Count;
        if (statuses)
        {
            written += await FlushStatusesAsync(ct).ConfigureAwait(false);
        }
        return written;
    }

    private static readonly string[] s_statusParameters = ["@s", "@t", "@ip", "@id"];

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
            await using var c = await sql.OpenAsync(ct).ConfigureAwait(false);
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            await SqlCommands.ExecuteEachAsync(c, tx, "UPDATE \"Devices\" SET \"StatusJson\" = @s, \"LastSeen\" = @t, \"Ip\" = @ip WHERE \"Id\" = @id",
                s_statusParameters, changed, static (d, v) =>
                {
                    lock (d.Gate)
                    {
                        d.StatusDirty = false;
                        // UTC as the model's DateTimes are (PostgreSQL's timestamptz takes only UTC-kinded values; SQLite ignores the kind).
                        (v[0], v[1], v[2], v[3]) = (d.StatusJson(), DateTime.SpecifyKind(d.LastSeen, DateTimeKind.Utc), d.Ip, d.Id);
                    }
                }, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _saveLock.Release();
        }
        return changed.Count;
    }

    private readonly SemaphoreSlim _saveLock = new(1, 1);

    /// <summary>
    /// Device rows as written: the columns the device reports; a stored row keeps the fields users edit (their edits write
    /// those columns themselves, <see cref="SaveColumnsAsync"/>), and on a shared store this instance's copy may predate an
    /// edit made through another instance a moment ago — only a name the device itself reported replaces the stored one.
    /// One statement for new and stored rows (<c>ON CONFLICT</c>, SQLite and PostgreSQL alike), so a row another instance
    /// inserted meanwhile is updated, not a conflict.
    /// </summary>
    private static readonly string[] s_deviceColumns =
    [
        "Id", "Name", "Model", "App", "Gen", "Mac", "FirmwareVersion", "Ip", "Admission", "InfoJson", "ConfigJson", "StatusJson",
        "DesiredJson", "MethodsJson", "Tags", "Password", "TokenHash", "BoundAddress", "Transport", "FirstSeen", "LastSeen",
    ];

    private static readonly string[] s_userColumns = ["Name", "DesiredJson", "Tags"];

    private static readonly SqlInsert s_insertDevice = new("Devices", s_deviceColumns);

    private static readonly string s_insertNewDevice = s_insertDevice.Sql + " ON CONFLICT (\"Id\") DO NOTHING";

    private static readonly string s_upsertDevice = s_insertDevice.Sql + " ON CONFLICT (\"Id\") DO UPDATE SET \"Name\" = CASE WHEN @NameReported THEN excluded.\"Name\" ELSE \"Devices\".\"Name\" END, "
        + string.Join(", ", s_deviceColumns.Skip(1).Except(s_userColumns).Select(c => $"\"{c}\" = excluded.\"{c}\""));

    private static readonly string[] s_upsertParameters = [.. s_insertDevice.Parameters, "@NameReported"];

    /// <summary>
    /// Writes whole device rows (<see cref="s_upsertDevice"/>), one batch at a time; with <paramref name="insertOnly"/> a row
    /// stored already is left as it is (false is returned for it: the caller writes its own columns into it).
    /// </summary>
    private async Task<int> UpsertAsync(IReadOnlyList<DeviceState> states, CancellationToken ct, bool insertOnly = false)
    {
        await _saveLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await using var c = await sql.OpenAsync(ct).ConfigureAwait(false);
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            var written = await SqlCommands.ExecuteEachAsync(c, tx, insertOnly ? s_insertNewDevice : s_upsertDevice,
                s_upsertParameters, states, static (d, v) =>
                {
                    lock (d.Gate)
                    {
                        d.Dirty = false;
                        d.StatusDirty = false;
                        (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]) = (d.Id, d.Name, d.Model, d.App, d.Gen, d.Mac, d.FirmwareVersion, d.Ip, d.Admission);
                        (v[9], v[10], v[11], v[12]) = (d.Info?.ToJsonString(), d.Config?.ToJsonString(), d.StatusJson(), d.Desired?.ToJsonString());
                        (v[13], v[14], v[15], v[16], v[17], v[18]) = (MethodsJson(d.Methods), string.Join(',', d.Tags), d.Password, d.TokenHash, d.BoundAddress, d.Transport);
                        (v[19], v[20], v[21]) = (Utc(d.FirstSeen), Utc(d.LastSeen), d.NameReported);
                        d.NameReported = false;
                    }
                }, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            return written;
        }
        finally
        {
            _saveLock.Release();
        }
    }

    private static string MethodsJson(string[] methods) => new JsonArray(methods.Select(m => (JsonNode?)m).ToArray()).ToJsonString();

    // PostgreSQL's timestamptz takes only UTC-kinded values; SQLite ignores the kind (the model's DateTimes are UTC).
    private static DateTime Utc(DateTime t) => t.Kind == DateTimeKind.Utc ? t : t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : DateTime.SpecifyKind(t, DateTimeKind.Utc);

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
