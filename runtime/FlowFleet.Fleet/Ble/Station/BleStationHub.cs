using System.Collections.Concurrent;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Ble.Station;

/// <summary>
/// <c>/ble</c>: BLE stations connect here with a station token (<c>Authorization: Bearer</c> or <c>?token=</c>) and a
/// <c>?name=</c>; each becomes an adapter of the <see cref="BleService"/> while connected. A station connecting again under
/// the same name replaces its old connection; revoking its token closes it.
/// </summary>
public sealed partial class BleStationHub
{
    private readonly BleService _ble;
    private readonly StationTokenStore _tokens;
    private readonly ILogger<BleStationHub> _logger;
    private readonly ConcurrentDictionary<string, StationAdapter> _stations = new(StringComparer.OrdinalIgnoreCase);

    public BleStationHub(BleService ble, StationTokenStore tokens, ILogger<BleStationHub> logger)
    {
        _ble = ble;
        _tokens = tokens;
        _logger = logger;
        tokens.Revoked += id => _ = CloseByTokenAsync(id);
    }

    /// <summary>Time a new station has to say hello.</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public IReadOnlyList<StationAdapter> Stations => [.. _stations.Values.OrderBy(s => s.Station, StringComparer.Ordinal)];

    /// <summary>Connections accepted so far (tests watch reconnects with it).</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    private int _accepted;

    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("BLE stations connect here with a websocket: flowfleet ble-station --server ws://host:7011/ble --token ...");
            return;
        }
        var auth = context.Request.Headers.Authorization.ToString();
        var secret = auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..].Trim() : context.Request.Query["token"].ToString();
        var token = _tokens.Validate(secret);
        if (token is null)
        {
            LogRefused(context.Connection.RemoteIpAddress?.ToString() ?? "?");
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.Response.WriteAsync("A valid BLE station token is required (create one under BLE > stations or POST /api/ble/stations/tokens)");
            return;
        }
        var name = StationSocket.Sanitize(context.Request.Query["name"].FirstOrDefault() ?? token.Name);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var station = new StationAdapter(name, token.Id, socket, context.Connection.RemoteIpAddress?.ToString());
        Interlocked.Increment(ref _accepted);
        var buffer = new byte[StationSocket.MaxFrameBytes];
        try
        {
            using var hello = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            hello.CancelAfter(HelloTimeout);
            var first = await StationSocket.ReceiveAsync(socket, buffer, hello.Token).ConfigureAwait(false);
            if (first is null || StationSocket.Str(first["event"]) != "hello" || !station.Handle(first))
            {
                await station.CloseAsync("expected hello").ConfigureAwait(false);
                return;
            }
            if (_stations.TryGetValue(name, out var old))
            {
                await old.CloseAsync("replaced by a newer connection").ConfigureAwait(false);
            }
            _stations[name] = station;
            _ble.Add(station);
            LogConnected(name, station.Remote ?? "?", station.Status.ToString());
            while (await StationSocket.ReceiveAsync(socket, buffer, context.RequestAborted).ConfigureAwait(false) is { } frame)
            {
                if (!station.Handle(frame))
                {
                    await station.CloseAsync("unknown frame").ConfigureAwait(false);
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or BleException)
        {
        }
        finally
        {
            station.Closed();
            if (_stations.TryGetValue(name, out var current) && ReferenceEquals(current, station))
            {
                _stations.TryRemove(name, out _);
                _ble.Remove(station);
                LogDisconnected(name);
            }
        }
    }

    /// <summary>Closes a station's connection (it reconnects with backoff, as after any drop).</summary>
    public async Task<bool> DisconnectAsync(string name)
    {
        if (!_stations.TryGetValue(name, out var station))
        {
            return false;
        }
        await station.CloseAsync("closed by the server").ConfigureAwait(false);
        return true;
    }

    private async Task CloseByTokenAsync(string tokenId)
    {
        foreach (var s in _stations.Values.Where(s => s.TokenId == tokenId))
        {
            await s.CloseAsync("token revoked").ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "BLE station from {Remote} refused: no valid station token")]
    private partial void LogRefused(string remote);

    [LoggerMessage(Level = LogLevel.Information, Message = "BLE station {Name} connected from {Remote}: {Status}")]
    private partial void LogConnected(string name, string remote, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "BLE station {Name} disconnected")]
    private partial void LogDisconnected(string name);
}
