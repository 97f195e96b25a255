using Npgsql;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// Follows one PostgreSQL notification channel (<c>LISTEN</c>) on a connection of its own, reconnecting after a failure.
/// Notices are sent with <c>pg_notify</c> inside the transaction that made the change, so they arrive only for committed
/// changes and in commit order; they need no NATS, only the database the instances share. After every (re)connection
/// <c>connected</c> runs before any notice is handled, so a subscriber reloads what it may have missed meanwhile.
/// </summary>
public sealed partial class PostgresListener : IAsyncDisposable
{
    private static readonly TimeSpan s_retry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_probe = TimeSpan.FromSeconds(30);

    private readonly ClusterStore _store;
    private readonly string _channel;
    private readonly Action<string> _notice;
    private readonly Func<CancellationToken, Task> _connected;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public PostgresListener(ClusterStore store, string channel, Action<string> notice, Func<CancellationToken, Task> connected, TimeProvider time, ILogger logger)
    {
        _store = store;
        _channel = channel;
        _notice = notice;
        _connected = connected;
        _time = time;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        var ct = _stop.Token;
        var failed = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _store.OpenAsync(ct).ConfigureAwait(false);
                var notices = new List<string>();
                connection.Notification += (_, e) => notices.Add(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {_channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
                // Listening first, then reloading: a change committed in between is both loaded and noticed (harmless).
                await _connected(ct).ConfigureAwait(false);
                if (failed)
                {
                    LogReconnected(_channel);
                    failed = false;
                }
                while (!ct.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(s_probe, ct).ConfigureAwait(false))
                    {
                        // Nothing for a while: make sure the connection is still alive (a dead one never notifies).
                        await using var probe = new NpgsqlCommand("SELECT 1", connection);
                        await probe.ExecuteScalarAsync(ct).ConfigureAwait(false);
                    }
                    // Notification events run inside WaitAsync/ExecuteScalarAsync on this task: handled here, in order.
                    foreach (var payload in notices)
                    {
                        Handle(payload);
                    }
                    notices.Clear();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Whatever broke this round (the connection, a reload that met a bad row), the channel must go on.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (!failed)
                {
                    LogFailed(_channel, ex.Message);
                }
                failed = true;
                try
                {
                    await Task.Delay(s_retry, _time, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Handle(string payload)
    {
        try
        {
            _notice(payload);
        }
#pragma warning disable CA1031 // One bad notice (or a handler's bug) must not stop the channel for every later one.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogNoticeFailed(ex, _channel);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL notices on {Channel} interrupted ({Reason}); retrying")]
    private partial void LogFailed(string channel, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "PostgreSQL notices on {Channel} followed again")]
    private partial void LogReconnected(string channel);

    [LoggerMessage(Level = LogLevel.Error, Message = "A PostgreSQL notice on {Channel} could not be handled")]
    private partial void LogNoticeFailed(Exception ex, string channel);
}
