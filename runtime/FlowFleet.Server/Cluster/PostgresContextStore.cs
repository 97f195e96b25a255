using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Context;
using Npgsql;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// A persistent context store shared by the instances of a cluster (<c>ff_context</c>; replaces the SQLite file of a
/// <c>localfilesystem</c>/<c>sqlite</c> store when <c>Storage:Provider=postgres</c>). Reads are served from memory, as the
/// engine's synchronous context API needs. A write changes memory at once and is written to PostgreSQL right behind it
/// (write-behind without an interval: a background writer takes whatever is pending, so bursts coalesce). Each row write
/// takes a version from a sequence under the row's lock and sends a notice in the same transaction
/// (<see cref="PostgresListener"/>); every other instance applies a notice whose version is newer than what it holds, so a
/// value written on A is read on B a few milliseconds after A's write. The last committed write of a key wins on every
/// instance. A key with a write of its own still pending ignores other instances' notices (its own write commits later
/// and wins). There is no compare-and-set: two instances incrementing the same key at once may lose one increment. After a
/// lost connection to PostgreSQL the whole store is reloaded.
/// </summary>
public sealed partial class PostgresContextStore : MemoryContextStore
{
    public const string Channel = "ff_context";

    // Values up to this size travel in the notice (PostgreSQL allows 8000 bytes); larger ones are read back.
    private const int InlineLimit = 6000;

    private readonly ClusterStore _store;
    private readonly string _name;
    private readonly string _origin = Guid.NewGuid().ToString("N");
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<(string Scope, string Key), long> _versions = new();
    private readonly ConcurrentDictionary<(string Scope, string Key), long> _dirty = new();
    private readonly Dictionary<(string Scope, string Key), Deferred> _deferred = [];
    private readonly ConcurrentDictionary<string, bool> _deletedScopes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _flushLock = new(1, 1);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PostgresListener _listener;
    private readonly Task _writer;
    private long _generation;

    public PostgresContextStore(ClusterStore store, string name, TimeProvider time, ILogger<PostgresContextStore> logger, TimeSpan? waitForLoad = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(name);
        _store = store;
        _name = name;
        _time = time;
        _logger = logger;
        _listener = new PostgresListener(store, Channel, OnNotice, ReloadAsync, time, logger);
        _writer = Task.Run(WriteLoopAsync);
        // The engine reads context synchronously from the first message on: the stored values are there before it starts.
        // PostgreSQL down at start: the store starts empty and fills in when the listener connects.
        if (!_loaded.Task.Wait(waitForLoad ?? TimeSpan.FromSeconds(15)))
        {
            LogNotLoaded(name);
        }
    }

    /// <summary>Completes once the stored values have been read (tests; the constructor waits for it a while).</summary>
    public Task Loaded => _loaded.Task;

    /// <summary>Notices from other instances applied (tests).</summary>
    public long Applied { get; private set; }

    public override void Set(string scope, string key, JsonNode? value)
    {
        lock (_gate)
        {
            _dirty[(scope, key)] = Interlocked.Increment(ref _generation);
            base.Set(scope, key, value);
        }
        _wake.Release();
    }

    public override void Delete(string scope)
    {
        lock (_gate)
        {
            foreach (var k in _dirty.Keys.Where(k => k.Scope == scope))
            {
                _dirty.TryRemove(k, out _);
            }
            _deletedScopes[scope] = true;
            base.Delete(scope);
        }
        _wake.Release();
    }

    public override async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_dirty.IsEmpty && _deletedScopes.IsEmpty)
        {
            return;
        }
        await _flushLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var scopes = _deletedScopes.Keys.ToList();
            var pending = _dirty.ToArray();
            await using var connection = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var dropped = new List<(string Scope, long Version)>(scopes.Count);
            foreach (var scope in scopes)
            {
                await using (var del = ClusterStore.Command(connection, "DELETE FROM ff_context WHERE store = $1 AND scope = $2", _name, scope))
                {
                    await del.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                // Versioned after the delete (which waited for any write of these rows in flight): older values go, newer stay.
                await using var notify = ClusterStore.Command(connection, """
                    SELECT v, pg_notify('ff_context', json_build_object('o', $3::text, 's', $1::text, 'c', $2::text, 'x', true, 'v', v)::text)
                    FROM (SELECT nextval('ff_context_version') AS v) n
                    """, _name, scope, _origin);
                dropped.Add((scope, (long)(await notify.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!));
            }
            var written = new List<((string Scope, string Key) Key, long Generation, long Version)>(pending.Length);
            foreach (var (k, generation) in pending)
            {
                var json = Get(k.Scope, k.Key)?.ToJsonString();
                // The version is taken in DO UPDATE, after the row's lock: a later writer of the key gets a higher one.
                await using var cmd = ClusterStore.Command(connection, """
                    WITH w AS (
                        INSERT INTO ff_context (store, scope, key, value, version) VALUES ($1, $2, $3, $4, nextval('ff_context_version'))
                        ON CONFLICT (store, scope, key) DO UPDATE SET value = EXCLUDED.value, version = nextval('ff_context_version')
                        RETURNING version)
                    SELECT version, pg_notify('ff_context', json_build_object('o', $5::text, 's', $1::text, 'c', $2::text, 'k', $3::text,
                        'v', version, 'j', $6::text, 'big', $7::bool)::text) FROM w
                    """, _name, k.Scope, k.Key, json, _origin, json is { Length: <= InlineLimit } ? json : null, json is { Length: > InlineLimit });
                written.Add((k, generation, (long)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!));
            }
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                foreach (var (scope, version) in dropped)
                {
                    _deletedScopes.TryRemove(scope, out _);
                    // Writes of other instances that came while the delete was pending: kept only if they followed it.
                    foreach (var k in _deferred.Keys.Where(k => k.Scope == scope).ToList())
                    {
                        if (_deferred.Remove(k, out var later) && later.Version > version && !_dirty.ContainsKey(k))
                        {
                            Take(k.Scope, k.Key, later);
                        }
                    }
                }
                foreach (var (k, generation, version) in written)
                {
                    // Still dirty if it was set again meanwhile: the next pass writes that value (and wins).
                    var done = _dirty.TryRemove(new KeyValuePair<(string, string), long>(k, generation));
                    _versions.AddOrUpdate(k, version, (_, v) => Math.Max(v, version));
                    // Another instance's write of the key that committed after this one (its notice came while this write was
                    // pending) is the key's value now.
                    if (_deferred.Remove(k, out var later) && done && later.Version > version)
                    {
                        Take(k.Scope, k.Key, later);
                    }
                }
            }
        }
        finally
        {
            _flushLock.Release();
        }
    }

    private async Task WriteLoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(ct).ConfigureAwait(false);
                // Writes that arrive together go out together.
                while (_wake.CurrentCount > 0)
                {
                    await _wake.WaitAsync(ct).ConfigureAwait(false);
                }
                await FlushAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                // PostgreSQL unreachable: the values stay pending (and readable here); retried a second later.
                LogWriteFailed(_name, ex.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _time, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                _wake.Release();
            }
        }
    }

    private void OnNotice(string payload)
    {
        if (JsonNode.Parse(payload) is not JsonObject n || (string?)n["s"] != _name || (string?)n["o"] == _origin || (string?)n["c"] is not { } scope
            || n["v"] is null)
        {
            return;
        }
        var version = (long)n["v"]!;
        if (n["x"] is not null)
        {
            lock (_gate)
            {
                foreach (var key in Keys(scope))
                {
                    Offer(scope, key, new Deferred(null, version, Big: false));
                }
            }
            return;
        }
        if ((string?)n["k"] is not { } k)
        {
            return;
        }
        var json = (string?)n["j"];
        lock (_gate)
        {
            Offer(scope, k, new Deferred(json is null ? null : JsonNode.Parse(json), version, (bool?)n["big"] == true));
        }
    }

    /// <summary>
    /// Another instance's write (or delete) of a key: taken unless this instance holds a newer version; kept aside while a
    /// write of its own is pending, and taken after it if it turns out newer. Called under the gate.
    /// </summary>
    private void Offer(string scope, string key, Deferred value)
    {
        var k = (scope, key);
        if (_versions.TryGetValue(k, out var held) && held >= value.Version)
        {
            return;
        }
        if (_dirty.ContainsKey(k) || _deletedScopes.ContainsKey(scope))
        {
            if (!_deferred.TryGetValue(k, out var seen) || seen.Version < value.Version)
            {
                _deferred[k] = value;
            }
            return;
        }
        Take(scope, key, value);
    }

    private void Take(string scope, string key, Deferred value)
    {
        if (value.Big)
        {
            _ = ReadBackAsync(scope, key);
            return;
        }
        _versions[(scope, key)] = value.Version;
        base.Set(scope, key, value.Value);
        Applied++;
    }

    private async Task ReadBackAsync(string scope, string key)
    {
        try
        {
            await using var connection = await _store.OpenAsync(_stop.Token).ConfigureAwait(false);
            await using var cmd = ClusterStore.Command(connection, "SELECT value, version FROM ff_context WHERE store = $1 AND scope = $2 AND key = $3", _name, scope, key);
            await using var reader = await cmd.ExecuteReaderAsync(_stop.Token).ConfigureAwait(false);
            if (await reader.ReadAsync(_stop.Token).ConfigureAwait(false))
            {
                var value = new Deferred(reader.IsDBNull(0) ? null : JsonNode.Parse(reader.GetString(0)), reader.GetInt64(1), Big: false);
                lock (_gate)
                {
                    Offer(scope, key, value);
                }
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or OperationCanceledException)
        {
            LogWriteFailed(_name, ex.Message);
        }
    }

    /// <summary>Reads the whole store (at start and after a lost connection): what changed meanwhile is taken, what went is dropped.</summary>
    private async Task ReloadAsync(CancellationToken ct)
    {
        var rows = new List<(string Scope, string Key, string? Json, long Version)>();
        await using (var connection = await _store.OpenAsync(ct).ConfigureAwait(false))
        await using (var cmd = ClusterStore.Command(connection, "SELECT scope, key, value, version FROM ff_context WHERE store = $1", _name))
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                rows.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt64(3)));
            }
        }
        var present = rows.Select(r => (r.Scope, r.Key)).ToHashSet();
        lock (_gate)
        {
            foreach (var (scope, key, json, version) in rows)
            {
                JsonNode? value;
                try
                {
                    value = json is null ? null : JsonNode.Parse(json);
                }
                catch (System.Text.Json.JsonException)
                {
                    // A row this store did not write (edited by hand): skipped, so the rest of the store still loads.
                    LogBadValue(_name, scope, key);
                    continue;
                }
                Offer(scope, key, new Deferred(value, version, Big: false));
            }
            // Written before (it has a version) but gone from the table: its scope was deleted by another instance.
            foreach (var k in _versions.Keys.Where(k => !present.Contains(k) && !_dirty.ContainsKey(k)))
            {
                _versions.TryRemove(k, out _);
                base.Set(k.Scope, k.Key, null);
            }
        }
        _loaded.TrySetResult();
    }

    public override async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _writer.ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
        try
        {
            await FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            LogWriteFailed(_name, ex.Message);
        }
        _stop.Dispose();
        _flushLock.Dispose();
        _wake.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private sealed record Deferred(JsonNode? Value, long Version, bool Big);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Context store {Store}: PostgreSQL not reached in time at start; its values load when it is")]
    private partial void LogNotLoaded(string store);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Context store {Store}: the stored value of {Scope} {Key} is not JSON; skipped")]
    private partial void LogBadValue(string store, string scope, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Context store {Store}: writing to PostgreSQL failed ({Reason}); retrying")]
    private partial void LogWriteFailed(string store, string reason);
}
