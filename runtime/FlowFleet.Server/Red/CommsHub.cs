using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowFleet.Runtime;
using FlowFleet.Server.Auth;

namespace FlowFleet.Server.Red;

/// <summary>
/// Node-RED's <c>/comms</c> websocket: after <c>{"auth": token}</c> (when auth is on) a client subscribes to topics
/// (<c>debug</c>, <c>status/#</c>, <c>notification/#</c>) and receives arrays of <c>{topic, data}</c> every ~50 ms.
/// Status topics are retained; <c>hb</c> is sent every 15 s.
/// </summary>
public sealed class CommsHub : IDisposable
{
    private readonly ConcurrentDictionary<CommsConnection, byte> _connections = new();
    private readonly ConcurrentDictionary<string, JsonNode> _retained = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _subscriptions = [];
    private readonly Timer _heartbeat;
    private readonly Timer _anonymousSweep;

    /// <summary>Time a comms socket has to authenticate (<c>{"auth": token}</c>) before it is closed.</summary>
    public static readonly TimeSpan AuthTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Unauthenticated comms sockets held at once; a new one closes the oldest beyond this, so anonymous sockets can
    /// never fill the server's websocket budget ahead of the operator's.</summary>
    public const int MaxAnonymous = 32;

    public CommsHub(FlowEvents events, IMeterFactory? meters = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        _subscriptions.Add(events.Debug.Subscribe(m => Publish("debug", DebugFormatter.Packet(m), retain: false)));
        _subscriptions.Add(events.Status.Subscribe(s =>
        {
            var data = s.Status.ToJson();
            Publish("status/" + s.NodeId, data, retain: true);
        }));
        _subscriptions.Add(events.Deployed.Subscribe(rev =>
            Publish("notification/runtime-deploy", new JsonObject { ["revision"] = rev }, retain: false)));
        _heartbeat = new Timer(_ => Publish("hb", JsonValue.Create(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), retain: false),
            null, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(15));
        _anonymousSweep = new Timer(_ => CloseAnonymous(Environment.TickCount64 - (long)AuthTimeout.TotalMilliseconds, keep: int.MaxValue),
            null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        if (meters?.Create(Ops.MetricsSetup.ServerMeter) is { } meter)
        {
            meter.CreateObservableGauge("flowfleet.comms.connections", () => ConnectionCount, description: "Editor websocket connections");
            meter.CreateObservableCounter("flowfleet.comms.dropped", () => CommsConnection.DroppedTotal, description: "Debug and status messages dropped for editors that could not keep up");
        }
    }

    /// <summary>Aborts unauthenticated sockets opened before <paramref name="before"/> and, oldest first, all but
    /// <paramref name="keep"/> of the rest.</summary>
    private void CloseAnonymous(long before, int keep)
    {
        var anonymous = _connections.Keys.Where(c => !c.Authenticated).OrderBy(c => c.Since).ToList();
        for (var i = 0; i < anonymous.Count; i++)
        {
            if (anonymous[i].Since < before || anonymous.Count - i > keep)
            {
                anonymous[i].Socket.Abort();
            }
        }
    }

    public int ConnectionCount => _connections.Count;

    public void Publish(string topic, JsonNode data, bool retain)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (retain)
        {
            if (data is JsonObject { Count: 0 })
            {
                _retained.TryRemove(topic, out _);
            }
            else
            {
                _retained[topic] = data.DeepClone();
            }
        }
        foreach (var c in _connections.Keys)
        {
            c.Offer(topic, data);
        }
    }

    public async Task HandleAsync(HttpContext ctx, TokenService tokens, bool authRequired)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        if (!ctx.WebSockets.IsWebSocketRequest)
        {
            ctx.Response.StatusCode = 400;
            return;
        }
        using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
        var connection = new CommsConnection(socket, authenticated: !authRequired || ctx.User.Identity?.IsAuthenticated == true);
        var sessions = ctx.RequestServices.GetRequiredService<SessionMonitor>();
        // Counted before pruning: two upgrades at once would otherwise each miss the other and both stay over the cap.
        _connections[connection] = 0;
        if (!connection.Authenticated)
        {
            CloseAnonymous(long.MinValue, keep: MaxAnonymous);
        }
        try
        {
            connection.Watch(sessions, Principals.SessionOf(ctx.User));
            var sender = connection.RunSenderAsync(ctx.RequestAborted);
            await ReceiveAsync(connection, tokens, sessions, ctx.RequestAborted);
            connection.Complete();
            await sender;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client went away.
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            connection.Watch(sessions, null);
        }
    }

    private async Task ReceiveAsync(CommsConnection c, TokenService tokens, SessionMonitor sessions, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        while (c.Socket.State == WebSocketState.Open)
        {
            using var ms = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await c.Socket.ReceiveAsync(buffer, ct);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await c.Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
                    return;
                }
                ms.Write(buffer, 0, result.Count);
                if (ms.Length > 64 * 1024)
                {
                    await c.Socket.CloseAsync(WebSocketCloseStatus.MessageTooBig, "frame too large", ct);
                    return;
                }
            }
            while (!result.EndOfMessage);
            if (!await sessions.IsValidAsync(c.Session, ct))
            {
                await c.EndSessionAsync();
                return;
            }
            JsonObject? frame;
            try
            {
                frame = JsonNode.Parse(Encoding.UTF8.GetString(ms.ToArray())) as JsonObject;
            }
            catch (System.Text.Json.JsonException)
            {
                continue;
            }
            if (frame?["auth"] is { } auth)
            {
                var identity = await tokens.ValidateAsync(auth.ToString(), ct);
                c.Authenticated = identity is not null;
                c.Watch(sessions, identity?.Sid);
                await c.SendRawAsync(new JsonObject { ["auth"] = c.Authenticated ? "ok" : "fail" }, ct);
                if (!c.Authenticated)
                {
                    await c.Socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, "authentication failed", ct);
                    return;
                }
            }
            else if (frame?["subscribe"]?.ToString() is { } topic && c.Authenticated)
            {
                c.Subscribe(topic);
                foreach (var (t, data) in _retained)
                {
                    if (CommsConnection.Matches(topic, t))
                    {
                        c.Offer(t, data);
                    }
                }
            }
            else if (frame?["unsubscribe"]?.ToString() is { } gone)
            {
                c.Unsubscribe(gone);
            }
        }
    }

    public void Dispose()
    {
        _heartbeat.Dispose();
        _anonymousSweep.Dispose();
        foreach (var s in _subscriptions)
        {
            s.Dispose();
        }
    }
}

/// <summary>One comms client: its subscriptions and a bounded outbound queue sent in batches.</summary>
internal sealed class CommsConnection(WebSocket socket, bool authenticated)
{
    private readonly Channel<(string Topic, JsonNode Data)> _out = Channel.CreateBounded<(string, JsonNode)>(
        new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly ConcurrentDictionary<string, byte> _topics = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    public WebSocket Socket => socket;

    public bool Authenticated { get; set; } = authenticated;

    /// <summary>The session this socket runs under (null with <c>--no-auth</c> or before <c>{"auth"}</c>).</summary>
    public string? Session { get; private set; }

    private IDisposable? _watch;

    /// <summary>Runs under this session from now on, closed as soon as it ends; null stops watching.</summary>
    public void Watch(SessionMonitor sessions, string? sid)
    {
        _watch?.Dispose();
        Session = sid;
        _watch = sid is null ? null : sessions.Watch(sid, EndSessionAsync);
    }

    /// <summary>Tells the client why (1008) and drops the connection, so nothing more is sent under an ended session.</summary>
    public Task EndSessionAsync()
    {
        Authenticated = false;
        return SessionClose.EndAsync(socket, _sendLock);
    }

    public long Since { get; } = Environment.TickCount64;

    public void Subscribe(string topic) => _topics[topic] = 0;

    public void Unsubscribe(string topic) => _topics.TryRemove(topic, out _);

    /// <summary>Queued messages dropped (oldest first) because this client did not keep up, since the last note to it.</summary>
    private long _dropped;

    public void Offer(string topic, JsonNode data)
    {
        if (Authenticated && (topic == "hb" || _topics.Keys.Any(p => Matches(p, topic))))
        {
            if (_out.Reader.Count >= QueueCapacity)
            {
                // The write below drops the oldest message: count it, for /metrics and a note in the sidebar.
                Interlocked.Increment(ref _dropped);
                Interlocked.Increment(ref s_droppedTotal);
            }
            _out.Writer.TryWrite((topic, data));
        }
    }

    public const int QueueCapacity = 2000;

    private static long s_droppedTotal;

    /// <summary>Messages dropped for all comms clients since the process started.</summary>
    public static long DroppedTotal => Interlocked.Read(ref s_droppedTotal);

    /// <summary>Node-RED's debug packet shape, telling the sidebar how many messages it did not get.</summary>
    private static JsonObject DroppedNote(long count) => new()
    {
        ["topic"] = "debug",
        ["data"] = new JsonObject
        {
            ["id"] = "", ["z"] = "", ["name"] = "FlowFleet", ["topic"] = "", ["property"] = "msg", ["level"] = 30,
            ["msg"] = $"{count} messages dropped: the editor could not keep up with the flows", ["format"] = "string",
            ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        },
    };

    public void Complete() => _out.Writer.TryComplete();

    public async Task RunSenderAsync(CancellationToken ct)
    {
        var reader = _out.Reader;
        while (await reader.WaitToReadAsync(ct))
        {
            await Task.Delay(50, ct);
            var batch = new JsonArray();
            if (Interlocked.Exchange(ref _dropped, 0) is var dropped and > 0)
            {
                batch.Add(DroppedNote(dropped));
            }
            while (batch.Count < 500 && reader.TryRead(out var item))
            {
                batch.Add(new JsonObject { ["topic"] = item.Topic, ["data"] = item.Data.DeepClone() });
            }
            if (batch.Count > 0 && socket.State == WebSocketState.Open)
            {
                await SendRawAsync(batch, ct);
            }
        }
    }

    public async Task SendRawAsync(JsonNode frame, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(frame.ToJsonString());
        await _sendLock.WaitAsync(ct);
        try
        {
            await socket.SendAsync(bytes, WebSocketMessageType.Text, true, ct);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>MQTT-style topic match: <c>#</c> matches the rest, <c>+</c> one level.</summary>
    public static bool Matches(string pattern, string topic)
    {
        if (pattern == topic || pattern == "#")
        {
            return true;
        }
        var p = pattern.Split('/');
        var t = topic.Split('/');
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] == "#")
            {
                return true;
            }
            if (i >= t.Length || (p[i] != "+" && p[i] != t[i]))
            {
                return false;
            }
        }
        return p.Length == t.Length;
    }
}
