using System.Text.Json.Nodes;
using Npgsql;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// Login throttling shared by the instances on one PostgreSQL (<see cref="Auth.LoginThrottle"/>). Every login attempt an
/// instance checks is sent as a notice (<c>ff_login</c>) before its answer goes out, and the other instances count it as
/// if it had been made with them: guesses spread over N instances behind a load balancer are slowed exactly as the same
/// guesses sent to one (both the per-user-and-address waits and the per-address budget). Notices need only the shared
/// database, not NATS. An instance that starts later starts with a clean slate, as a restarted single server does.
/// </summary>
public sealed partial class SharedLogins : IAsyncDisposable
{
    public const string Channel = "ff_login";

    // A notice carries at most 8000 bytes; a user name longer than this is no real account's (the address budget still counts).
    private const int MaxUser = 256;

    private readonly ClusterStore _store;
    private readonly ILogger<SharedLogins> _logger;
    private readonly string _origin = Guid.NewGuid().ToString("N");
    private readonly PostgresListener _listener;

    public SharedLogins(ClusterStore store, TimeProvider time, ILogger<SharedLogins> logger)
    {
        _store = store;
        _logger = logger;
        _listener = new PostgresListener(store, Channel, OnNotice, _ => Task.CompletedTask, time, logger);
    }

    /// <summary>A login attempt another instance checked: user, address, and whether the password was right.</summary>
    public event Action<string, string?, bool>? Remote;

    /// <summary>Tells the other instances about an attempt checked here (awaited before the answer, so a next guess sent elsewhere meets it).</summary>
    public async Task PublishAsync(string user, string? address, bool succeeded)
    {
        var payload = new JsonObject
        {
            ["origin"] = _origin, ["user"] = user.Length > MaxUser ? user[..MaxUser] : user, ["address"] = address, ["ok"] = succeeded,
        }.ToJsonString();
        try
        {
            // Not the request's token: a client that hangs up must not keep its failure from the other instances.
            await _store.NotifyAsync(Channel, payload, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            // PostgreSQL is down: logins fail anyway (the users are there); this instance still counts its own.
            LogPublishFailed(ex.Message);
        }
    }

    private void OnNotice(string payload)
    {
        if (JsonNode.Parse(payload) is JsonObject o && (string?)o["origin"] != _origin && (string?)o["user"] is { } user)
        {
            Remote?.Invoke(user, (string?)o["address"], (bool?)o["ok"] == true);
        }
    }

    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: a login attempt was not shared with the other instances ({Reason})")]
    private partial void LogPublishFailed(string reason);
}
