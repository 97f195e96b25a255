using System.Data.Common;
using FlowFleet.Fleet.Registry;
using FlowFleet.Server.Cluster;
using Microsoft.Data.Sqlite;

namespace FlowFleet.Server.Auth;

/// <summary>
/// Users and sessions in plain SQL, the same statements on both providers: <c>data/flowfleet.db</c> (SQLite, tables
/// <c>Users</c> and <c>Tokens</c>) or a cluster's shared PostgreSQL (<c>ff_users</c>, <c>ff_tokens</c>, created by
/// <see cref="ClusterStore"/>), through the fleet stores' <see cref="SqlCommands"/> (table names are this class's constants,
/// every value a parameter). The columns are the ones EF Core's model made in earlier versions (times as UTC ticks), so
/// existing databases are read as they are. Not EF Core (issue 19): its first context cost ~12.6 MiB of resident assemblies
/// and ~50 ms of CPU on the first login of a server that otherwise never loads it.
/// </summary>
public sealed class UserStore
{
    // Any constant (not ClusterStore's schema lock): PostgreSQL's advisory lock held by a change that may take away an admin.
    private const long AdminsLock = 0x66662d61646d696e;
    private const string UserColumns = "\"Id\", \"Name\", \"PasswordHash\", \"Role\", \"CreatedAt\", \"SecurityStamp\", \"Groups\"";

    private readonly Func<CancellationToken, Task<DbConnection>> _open;
    private readonly string _users;
    private readonly string _tokens;
    // Run first in a transaction that may take away an admin: it holds off any other such transaction until this one ends.
    // SQLite needs nothing: Microsoft.Data.Sqlite begins transactions IMMEDIATE, which takes the file's one write lock.
    private readonly string? _lockAdmins;

    private UserStore(Func<CancellationToken, Task<DbConnection>> open, string users, string tokens, string? sqlite)
    {
        _open = open;
        _users = users;
        _tokens = tokens;
        SqliteConnectionString = sqlite;
        _lockAdmins = sqlite is null ? $"SELECT pg_advisory_xact_lock({AdminsLock})" : null;
    }

    /// <summary>The SQLite file's connection string; null on PostgreSQL.</summary>
    public string? SqliteConnectionString { get; }

    public static UserStore Sqlite(string connectionString) => new(async ct =>
    {
        var c = new SqliteConnection(connectionString);
        await c.OpenAsync(ct).ConfigureAwait(false);
        return c;
    }, "\"Users\"", "\"Tokens\"", connectionString);

    public static UserStore Postgres(ClusterStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return new(async ct => await store.OpenAsync(ct).ConfigureAwait(false), "ff_users", "ff_tokens", null);
    }

    public async Task<UserAccount?> FindUserAsync(string name, CancellationToken ct)
    {
        await using var c = await _open(ct).ConfigureAwait(false);
        await using var cmd = SqlCommands.Command(c, $"SELECT {UserColumns} FROM {_users} WHERE \"Name\" = @n", ("@n", name));
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await r.ReadAsync(ct).ConfigureAwait(false) ? ReadUser(r, 0) : null;
    }

    public async Task<List<UserAccount>> ListUsersAsync(CancellationToken ct)
    {
        await using var c = await _open(ct).ConfigureAwait(false);
        await using var cmd = SqlCommands.Command(c, $"SELECT {UserColumns} FROM {_users} ORDER BY \"Name\"");
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var list = new List<UserAccount>();
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(ReadUser(r, 0));
        }
        return list;
    }

    public async Task<bool> AnyUserAsync(CancellationToken ct)
    {
        await using var c = await _open(ct).ConfigureAwait(false);
        await using var cmd = SqlCommands.Command(c, $"SELECT 1 FROM {_users} LIMIT 1");
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
    }

    /// <summary>Stores a new user and sets its id; a name taken meanwhile fails with the provider's unique-constraint error.</summary>
    public async Task InsertUserAsync(UserAccount user, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(user);
        await using var c = await _open(ct).ConfigureAwait(false);
        await using var cmd = SqlCommands.Command(c,
            $"INSERT INTO {_users} (\"Name\", \"PasswordHash\", \"Role\", \"CreatedAt\", \"SecurityStamp\", \"Groups\") VALUES (@n, @h, @r, @c, @s, @g) RETURNING \"Id\"",
            ("@n", user.Name), ("@h", user.PasswordHash), ("@r", user.Role), ("@c", user.CreatedAt.UtcTicks), ("@s", user.SecurityStamp), ("@g", user.Groups));
        user.Id = Convert.ToInt32(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Writes what a change may touch (password hash, role, device groups) with a new security stamp, only if the user is
    /// as it was read (its stamp unchanged): a whole-row write from a stale read would undo a change made meanwhile, such
    /// as a password reset. False when the user changed or went since it was read; the caller reads it again. With
    /// <paramref name="keepAnAdmin"/> (the change takes the user's admin role away) it is refused with
    /// <see cref="InvalidOperationException"/> when no other admin exists, checked in the same transaction as the write.
    /// </summary>
    public async Task<bool> UpdateUserAsync(UserAccount user, bool keepAnAdmin, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(user);
        var stamp = UserAccount.NewStamp();
        await using var c = await _open(ct).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        if (keepAnAdmin)
        {
            await KeepAnAdminAsync(c, tx, user, ct).ConfigureAwait(false);
        }
        await using var cmd = SqlCommands.Command(c,
            $"UPDATE {_users} SET \"PasswordHash\" = @h, \"Role\" = @r, \"SecurityStamp\" = @s, \"Groups\" = @g WHERE \"Id\" = @id AND \"SecurityStamp\" = @read",
            ("@h", user.PasswordHash), ("@r", user.Role), ("@s", stamp), ("@g", user.Groups), ("@id", user.Id), ("@read", user.SecurityStamp));
        cmd.Transaction = tx;
        if (await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
        {
            return false;
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
        user.SecurityStamp = stamp;
        return true;
    }

    /// <summary>
    /// Refuses to take away the last admin: the server could not be managed any more. Inside the caller's transaction,
    /// after the admins are locked (PostgreSQL) or the file's write lock is held (SQLite), so two admins removing each other
    /// at once can't both see the other one still there.
    /// </summary>
    private async Task KeepAnAdminAsync(DbConnection c, DbTransaction tx, UserAccount user, CancellationToken ct)
    {
        if (_lockAdmins is not null)
        {
            await using var lockAdmins = SqlCommands.Command(c, _lockAdmins);
            lockAdmins.Transaction = tx;
            await lockAdmins.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await using var cmd = SqlCommands.Command(c, $"SELECT 1 FROM {_users} WHERE \"Role\" = @r AND \"Id\" <> @id LIMIT 1", ("@r", Roles.Admin), ("@id", user.Id));
        cmd.Transaction = tx;
        if (await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
        {
            throw new InvalidOperationException($"'{user.Name}' is the last admin; make another user admin first");
        }
    }

    /// <summary>Deletes the user and revokes its sessions, together; an admin only while another admin exists (<see cref="InvalidOperationException"/>).</summary>
    public async Task DeleteUserAsync(UserAccount user, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(user);
        await using var c = await _open(ct).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        if (user.Role == Roles.Admin)
        {
            await KeepAnAdminAsync(c, tx, user, ct).ConfigureAwait(false);
        }
        await using (var revoke = SqlCommands.Command(c, $"UPDATE {_tokens} SET \"Revoked\" = @t WHERE \"UserName\" = @n", ("@t", true), ("@n", user.Name)))
        {
            revoke.Transaction = tx;
            await revoke.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await using (var delete = SqlCommands.Command(c, $"DELETE FROM {_users} WHERE \"Id\" = @id", ("@id", user.Id)))
        {
            delete.Transaction = tx;
            await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async Task InsertTokenAsync(ApiToken token, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(token);
        await using var c = await _open(ct).ConfigureAwait(false);
        await using var cmd = SqlCommands.Command(c,
            $"INSERT INTO {_tokens} (\"TokenHash\", \"UserName\", \"Scope\", \"ClientId\", \"ExpiresAt\", \"Revoked\", \"Stamp\") VALUES (@h, @u, @s, @c, @e, @r, @st) RETURNING \"Id\"",
            ("@h", token.TokenHash), ("@u", token.UserName), ("@s", token.Scope), ("@c", token.ClientId), ("@e", token.ExpiresAt.UtcTicks), ("@r", token.Revoked), ("@st", token.Stamp));
        token.Id = Convert.ToInt32(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The session with this token hash and its user (null when the user is gone), in one query; null when there is no such session.</summary>
    public async Task<(ApiToken Token, UserAccount? User)?> FindSessionAsync(string tokenHash, CancellationToken ct)
    {
        await using var c = await _open(ct).ConfigureAwait(false);
        await using var cmd = SqlCommands.Command(c,
            $"SELECT t.\"Id\", t.\"UserName\", t.\"Scope\", t.\"ClientId\", t.\"ExpiresAt\", t.\"Revoked\", t.\"Stamp\", u.\"Id\", u.\"Name\", u.\"PasswordHash\", u.\"Role\", u.\"CreatedAt\", u.\"SecurityStamp\", u.\"Groups\" "
            + $"FROM {_tokens} t LEFT JOIN {_users} u ON u.\"Name\" = t.\"UserName\" WHERE t.\"TokenHash\" = @h", ("@h", tokenHash));
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false))
        {
            return null;
        }
        var token = new ApiToken
        {
            Id = r.GetInt32(0), TokenHash = tokenHash, UserName = r.GetString(1), Scope = r.GetString(2), ClientId = r.GetString(3),
            ExpiresAt = new DateTimeOffset(r.GetInt64(4), TimeSpan.Zero), Revoked = r.GetBoolean(5), Stamp = r.GetString(6),
        };
        return (token, r.IsDBNull(7) ? null : ReadUser(r, 7));
    }

    public async Task SetTokenExpiryAsync(int id, DateTimeOffset expiresAt, CancellationToken ct)
    {
        await using var c = await _open(ct).ConfigureAwait(false);
        await using var cmd = SqlCommands.Command(c, $"UPDATE {_tokens} SET \"ExpiresAt\" = @e WHERE \"Id\" = @id", ("@e", expiresAt.UtcTicks), ("@id", id));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Marks the session revoked; false when there is no such session.</summary>
    public async Task<bool> RevokeTokenAsync(string tokenHash, CancellationToken ct)
    {
        await using var c = await _open(ct).ConfigureAwait(false);
        await using var cmd = SqlCommands.Command(c, $"UPDATE {_tokens} SET \"Revoked\" = @t WHERE \"TokenHash\" = @h", ("@t", true), ("@h", tokenHash));
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
    }

    private static UserAccount ReadUser(DbDataReader r, int i) => new()
    {
        Id = r.GetInt32(i), Name = r.GetString(i + 1), PasswordHash = r.GetString(i + 2), Role = r.GetString(i + 3),
        CreatedAt = new DateTimeOffset(r.GetInt64(i + 4), TimeSpan.Zero), SecurityStamp = r.GetString(i + 5),
        Groups = r.IsDBNull(i + 6) ? null : r.GetString(i + 6),
    };
}
