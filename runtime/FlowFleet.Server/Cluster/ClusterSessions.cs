using FlowFleet.Server.Auth;
using Npgsql;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// Sessions shared by the instances of a cluster (users and tokens in PostgreSQL, see <see cref="ServerDatabase"/>).
/// Every request reads its session from PostgreSQL (<see cref="TokenService"/> keeps no cache then), so a cookie or token
/// ended through one instance is refused by every other from the moment the change is committed. This service only makes
/// the other instances close their open sockets (<c>/client</c>, <c>/red/comms</c>, Blazor circuits) at once instead of at
/// their next sweep: a user change or revocation here sends a notice (<c>ff_auth</c>), and a notice from another instance
/// makes this one check its open sessions.
/// </summary>
public sealed partial class ClusterSessions : IAsyncDisposable
{
    public const string Channel = "ff_auth";

    private readonly ClusterStore _store;
    private readonly ILogger<ClusterSessions> _logger;
    private readonly string _origin = Guid.NewGuid().ToString("N");
    private readonly PostgresListener _listener;

    public ClusterSessions(ClusterStore store, UserService users, TimeProvider time, ILogger<ClusterSessions> logger)
    {
        ArgumentNullException.ThrowIfNull(users);
        _store = store;
        _logger = logger;
        users.Changed += name => _ = PublishAsync();
        _listener = new PostgresListener(store, Channel, OnNotice, _ =>
        {
            // Connected again after a gap: whatever changed meanwhile is checked now.
            RemoteChanged?.Invoke();
            return Task.CompletedTask;
        }, time, logger);
    }

    /// <summary>Raised when another instance changed users or sessions (or notices may have been missed).</summary>
    public event Action? RemoteChanged;

    /// <summary>Tells the other instances that sessions may have ended.</summary>
    public async Task PublishAsync()
    {
        try
        {
            await NotifyAsync(_store, _origin).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            // The others still refuse the ended sessions on their next request, and close idle sockets at their next sweep.
            LogPublishFailed(ex.Message);
        }
    }

    /// <summary>The notice itself (also sent by the <c>flowfleet user</c> command, which runs no listener).</summary>
    public static async Task NotifyAsync(ClusterStore store, string origin, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        await store.NotifyAsync(Channel, origin, ct).ConfigureAwait(false);
    }

    private void OnNotice(string origin)
    {
        if (origin != _origin)
        {
            RemoteChanged?.Invoke();
        }
    }

    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: a session change was not announced to the other instances ({Reason})")]
    private partial void LogPublishFailed(string reason);
}
