using Microsoft.EntityFrameworkCore;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// A registry on a store shared by several instances (PostgreSQL in a cluster): a user's edit writes only the fields it
/// changed, and another instance reads them back when told (so the instance a device moves to has them).
/// </summary>
public sealed partial class DeviceStore
{
    /// <summary>
    /// Writes what users edit (name, tags, desired state) to the device's row, and nothing else: an instance that only
    /// mirrors the device (it is connected to another one) must not replace the owner's row.
    /// </summary>
    private Task SaveUserFieldsAsync(DeviceState d, CancellationToken ct)
    {
        string? name;
        string tags;
        string? desired;
        lock (d.Gate)
        {
            name = d.Name;
            tags = string.Join(',', d.Tags);
            desired = d.Desired?.ToJsonString();
        }
        return SaveColumnsAsync(d, ct, ("Name", name), ("Tags", tags), ("DesiredJson", desired));
    }

    /// <summary>
    /// Writes only the given columns of the device's row (a user's edit, admission, the device password), so neither a
    /// mirroring instance nor a concurrent writer elsewhere has the rest of its row replaced. A row not stored yet is written
    /// whole; one another writer stored between our update and our insert stays, with our columns written into it.
    /// </summary>
    private async Task SaveColumnsAsync(DeviceState d, CancellationToken ct, params (string Column, object? Value)[] columns)
    {
        var update = $"UPDATE \"Devices\" SET {string.Join(", ", columns.Select(c => $"\"{c.Column}\" = @{c.Column}"))} WHERE \"Id\" = @Id";
        (string, object?)[] values = [.. columns.Select(c => ("@" + c.Column, c.Value)), ("@Id", d.Id)];
        if (await UpdateAsync().ConfigureAwait(false) > 0 || await UpsertAsync([d], ct, insertOnly: true).ConfigureAwait(false) > 0)
        {
            return;
        }
        await UpdateAsync().ConfigureAwait(false);

        async Task<int> UpdateAsync()
        {
            await using var c = await sql.OpenAsync(ct).ConfigureAwait(false);
            return await SqlCommands.ExecuteAsync(c, null, update, ct, values).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads a device's stored fields that users and admission change (name, tags, desired, admission, password, token) and
    /// its groups (<see cref="IGroupStore.RefreshDeviceAsync"/>) back into memory — another instance of the cluster changed them. A device gone from the store is dropped.
    /// </summary>
    public async Task RefreshAsync(string id, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var r = await db.Devices.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        if (r is null)
        {
            if (_devices.TryRemove(id, out var gone))
            {
                gone.Removed = true;
                groups.DropDevice(id);
                _changed?.Invoke(id, "removed");
            }
            return;
        }
        var d = _devices.GetOrAdd(id, _ => FromRecord(r));
        lock (d.Gate)
        {
            d.Name = r.Name;
            d.Tags = r.Tags.Split(',', StringSplitOptions.RemoveEmptyEntries);
            d.Desired = Parse(r.DesiredJson);
            d.Admission = r.Admission;
            d.Password = r.Password;
            d.TokenHash = r.TokenHash;
        }
        await groups.RefreshDeviceAsync(id, ct);
        _changed?.Invoke(id, "name");
        _changed?.Invoke(id, "tags");
        _changed?.Invoke(id, "groups");
    }
}
