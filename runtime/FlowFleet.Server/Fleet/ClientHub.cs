using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using FlowFleet.Fleet.Rpc;
using FlowFleet.Server.Auth;
using FlowFleet.Server.Fleet.FleetManager;

namespace FlowFleet.Server.Fleet;

/// <summary>
/// <c>/client</c> (and <c>/</c> for websockets, Shelly fleet manager's own path): a JSON-RPC 2.0 websocket. Frames with
/// <c>dst:"FLEET_MANAGER"</c> are fleet manager server calls (<see cref="FmMethods"/>, answered from <c>FLEET_MANAGER</c>
/// to the caller's <c>src</c>); any other <c>dst</c> — a device id, its MAC part, or an array — relays the frame to the
/// device(s), answered with the client's <c>id</c>, the device as <c>src</c> and the caller as <c>dst</c>; frames without
/// <c>dst</c> call FlowFleet's own <c>Device.*</c>, <c>Group.*</c>, <c>Events.Subscribe</c>. An array of frames is a batch.
/// </summary>
public sealed class ClientHub(DeviceHub hub, DeviceRegistry registry, FmMethods fm, FmEvents fmEvents, Ble.BleClientMethods? ble = null)
{
    private readonly ConcurrentDictionary<ClientConnection, byte> _clients = new();

    public int ConnectionCount => _clients.Count;

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync("Connect with a websocket (JSON-RPC 2.0)");
            return;
        }
        // FM's web UI sends its token as the websocket subprotocol and needs it echoed to open the connection.
        var offered = context.WebSockets.WebSocketRequestedProtocols;
        using var socket = await context.WebSockets.AcceptWebSocketAsync(offered.Count > 0 ? offered[0] : null);
        var client = new ClientConnection(socket, context.User, context.Connection.RemoteIpAddress?.ToString());
        var sessions = context.RequestServices.GetRequiredService<SessionMonitor>();
        using var watch = sessions.Watch(Principals.SessionOf(context.User), client.EndSessionAsync);
        _clients[client] = 0;
        SyncMessageListeners();
        var access = DeviceAccess.For(context.User);
        using var subscription = hub.Subscribe(access.Limited ? e => { if (access.CanSee(registry, e.DeviceId)) { client.OnDeviceEvent(e); } } : client.OnDeviceEvent);
        using var fmRegistration = fmEvents.Register(client.Fm);
        var sender = client.SendLoopAsync(context.RequestAborted);
        try
        {
            await ReceiveLoopAsync(client, sessions, context.RequestAborted);
        }
        finally
        {
            _clients.TryRemove(client, out _);
            client.ReleaseMessageListener();
            client.Complete();
            await sender;
        }
    }

    private void SyncMessageListeners()
    {
        foreach (var c in _clients.Keys)
        {
            c.SyncMessageListener(hub);
        }
    }

    private async Task ReceiveLoopAsync(ClientConnection client, SessionMonitor sessions, CancellationToken ct)
    {
        var buffer = new byte[256 * 1024];
        while (client.Socket.State == WebSocketState.Open)
        {
            var length = 0;
            ValueWebSocketReceiveResult r;
            try
            {
                do
                {
                    r = await client.Socket.ReceiveAsync(buffer.AsMemory(length), ct);
                    length += r.Count;
                }
                while (!r.EndOfMessage && length < buffer.Length);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                return;
            }
            if (r.MessageType == WebSocketMessageType.Close)
            {
                await client.CloseAsync();
                return;
            }
            if (!await sessions.IsValidAsync(Principals.SessionOf(client.User), ct))
            {
                await client.EndSessionAsync();
                return;
            }
            if (!r.EndOfMessage)
            {
                client.Post(Error(null, -32600, $"Invalid request: frames are limited to {buffer.Length} bytes"));
                await client.CloseAsync();
                return;
            }
            JsonNode? parsed;
            try
            {
                parsed = JsonNode.Parse(buffer.AsSpan(0, length));
            }
            catch (JsonException ex)
            {
                client.Post(Error(null, -32700, "Parse error: " + ex.Message));
                continue;
            }
            // A batch: FM's relay takes an array of requests and answers each on its own.
            foreach (var item in parsed is JsonArray batch ? batch.Take(1000).ToArray() : [parsed])
            {
                if (item is JsonObject frame)
                {
                    _ = HandleRequestAsync(client, frame, ct);
                }
                else
                {
                    client.Post(Error(null, -32600, "Invalid request: expected an object"));
                }
            }
        }
    }

    private async Task HandleRequestAsync(ClientConnection client, JsonObject frame, CancellationToken ct)
    {
        var id = frame["id"]?.DeepClone();
        var method = frame["method"] is JsonValue mv && mv.TryGetValue<string>(out var ms) ? ms : null;
        var p = frame["params"] as JsonObject ?? [];
        try
        {
            if (frame["dst"] is JsonValue fmDst && fmDst.TryGetValue<string>(out var server) && server.Equals(FmFrames.ServerName, StringComparison.OrdinalIgnoreCase))
            {
                await FleetManagerCallAsync(client, frame, method, ct);
                return;
            }
            if (frame["dst"] is { } dst && method is not null)
            {
                await RelayAsync(client, frame, dst, method, ct);
                return;
            }
            if (method is null)
            {
                client.Post(Error(id, -32600, "Invalid request: method is required"));
                return;
            }
            var result = await CallAsync(client, method, p, ct);
            if (id is not null)
            {
                client.Post(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["result"] = result });
            }
        }
        catch (ShellyRpcException ex)
        {
            client.Post(Error(id, ex.Code, ex.Message));
        }
        catch (Exception ex) when (ex is ArgumentException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            client.Post(Error(id, -32602, ex.Message));
        }
        catch (UnauthorizedAccessException ex)
        {
            client.Post(Error(id, 403, ex.Message));
        }
    }

    /// <summary>A <c>dst:"FLEET_MANAGER"</c> call, answered in FM's shape (src FLEET_MANAGER, dst = the caller's src).</summary>
    private async Task FleetManagerCallAsync(ClientConnection client, JsonObject frame, string? method, CancellationToken ct)
    {
        var id = frame["id"];
        var src = frame["src"]?.ToString();
        if (method is null)
        {
            client.Post(FmFrames.Error(id, src, FmFrames.InvalidRequest, "Invalid request"));
            return;
        }
        JsonObject answer;
        try
        {
            var result = await fm.CallAsync(new FmCaller(client.User, client.Fm, client.Address), method, frame["params"], ct);
            answer = FmFrames.Result(id, src, result);
        }
        catch (FmException ex)
        {
            answer = FmFrames.Error(id, src, ex.Code, ex.Message);
        }
        catch (Exception ex) when (ex is ArgumentException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            answer = FmFrames.Error(id, src, FmFrames.InvalidParams, ex.Message);
        }
        if (id is not null)
        {
            client.Post(answer);
        }
    }

    private async Task RelayAsync(ClientConnection client, JsonObject frame, JsonNode dst, string method, CancellationToken ct)
    {
        var id = frame["id"];
        var src = frame["src"]?.ToString() ?? "client";
        if (!Principals.Has(client.User, Policies.DevicesControl))
        {
            client.Post(FmFrames.Error(id, src, FmFrames.Unauthorized, $"Unauthorized: your role does not allow {Policies.DevicesControl}"));
            return;
        }
        var names = dst is JsonArray a ? a.Select(x => x?.ToString() ?? "").ToList() : [dst.ToString()];
        var p = frame["params"];
        await Parallel.ForEachAsync(names, ct, async (name, token) =>
        {
            var device = FmFrames.Resolve(registry, name);
            device = device is not null && DeviceAccess.For(client.User).CanSee(registry, device.Id) ? device : null;
            if (device is null || !hub.IsOnline(device.Id))
            {
                // FM answers a device it doesn't hold (unknown or not connected) with -32600 "No such device".
                if (id is not null)
                {
                    client.Post(FmFrames.Error(id, src, FmFrames.InvalidRequest, device is null ? "No such device" : $"No such device: {device.Id} is offline"));
                }
                return;
            }
            var r = await FleetRpc.CallOneAsync(hub, device.Id, method, p, null, client.User.Identity?.Name, token);
            if (id is null)
            {
                return;
            }
            var answer = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id.DeepClone(), ["src"] = device.Id, ["dst"] = src };
            if (r.Ok)
            {
                answer["result"] = r.Result;
            }
            else
            {
                answer["error"] = new JsonObject { ["code"] = r.ErrorCode, ["message"] = r.Error };
            }
            client.Post(answer);
        });
    }

    /// <summary>The id when the user may reach that device; otherwise "not found", as if it did not exist.</summary>
    private string Visible(ClientConnection client, string id) =>
        DeviceAccess.For(client.User).CanSee(registry, id) ? id : throw new KeyNotFoundException($"Device {id} not found");

    private static void NeedsAllDevices(ClientConnection client)
    {
        if (DeviceAccess.For(client.User).Limited)
        {
            throw new UnauthorizedAccessException("Your account is limited to some device groups; this needs access to all devices");
        }
    }

    private async Task<JsonNode?> CallAsync(ClientConnection client, string method, JsonObject p, CancellationToken ct)
    {
        string Str(string name) => p[name]?.GetValue<string>() ?? throw new ArgumentException($"params.{name} is required");
        // FM's scripts name a device with shellyID; FlowFleet's own calls with id.
        string DeviceId() => p["id"] is JsonValue ? Str("id") : p["shellyID"] is JsonValue ? Str("shellyID") : throw new ArgumentException("params.id (or shellyID) is required");
        switch (method.ToLowerInvariant())
        {
            case "device.list":
                client.Require(Policies.DevicesRead);
                var (items, total) = registry.Query(new DeviceQuery
                {
                    Search = p["search"]?.GetValue<string>(), Group = p["group"]?.GetValue<string>(), Tag = p["tag"]?.GetValue<string>(),
                    Online = p["online"]?.GetValue<bool>(), Admission = p["admission"]?.GetValue<string>(), Sort = p["sort"]?.GetValue<string>() ?? "name",
                    Offset = p["offset"]?.GetValue<int>() ?? 0, Limit = p["limit"]?.GetValue<int>() ?? 1000,
                    Within = DeviceAccess.For(client.User).Devices(registry),
                });
                return new JsonObject { ["items"] = new JsonArray(items.Select(d => (JsonNode?)d.Summary(registry.GroupsOf(d.Id))).ToArray()), ["total"] = total };
            case "device.get":
                client.Require(Policies.DevicesRead);
                var d = registry.Get(Visible(client, DeviceId())) ?? throw new KeyNotFoundException($"Device {DeviceId()} not found");
                return d.Details(registry.GroupsOf(d.Id));
            case "device.call":
                client.Require(Policies.DevicesControl);
                var targets = p["ids"] is JsonArray arr ? arr.Select(x => x!.GetValue<string>()).ToList() : p["target"] is { } t ? registry.Resolve(t.GetValue<string>()).ToList() : [Visible(client, DeviceId())];
                targets = [.. DeviceAccess.For(client.User).Filter(registry, targets)];
                var timeout = p["timeout"] is JsonValue tv ? TimeSpan.FromSeconds(tv.GetValue<double>()) : (TimeSpan?)null;
                if (targets.Count == 1 && (p["id"] ?? p["shellyID"]) is not null)
                {
                    return await hub.CallAsync(targets[0], Str("method"), p["params"], timeout, client.User.Identity?.Name, ct);
                }
                var results = await FleetRpc.CallManyAsync(hub, targets, Str("method"), p["params"], timeout, client.User.Identity?.Name, ct: ct);
                return new JsonObject { ["results"] = new JsonArray(results.Select(r => (JsonNode?)r.ToJson()).ToArray()) };
            case "device.accept":
                client.Require(Policies.DevicesControl);
                await hub.AcceptAsync(Visible(client, Str("id")), ct);
                return new JsonObject { ["ok"] = true };
            case "device.deny":
                client.Require(Policies.DevicesControl);
                await hub.DenyAsync(Visible(client, Str("id")), ct);
                return new JsonObject { ["ok"] = true };
            case "group.list":
                client.Require(Policies.DevicesRead);
                return new JsonArray(DeviceAccess.For(client.User).GroupNames(registry).Select(g => (JsonNode?)new JsonObject { ["name"] = g, ["devices"] = new JsonArray(registry.Members(g).Select(m => (JsonNode?)m).ToArray()) }).ToArray());
            case "group.create":
                client.Require(Policies.DevicesControl);
                NeedsAllDevices(client);
                await registry.CreateGroupAsync(Str("name"), p["description"]?.GetValue<string>(), ct);
                return new JsonObject { ["name"] = Str("name") };
            case "group.delete":
                client.Require(Policies.DevicesControl);
                NeedsAllDevices(client);
                await registry.DeleteGroupAsync(Str("name"), ct);
                return new JsonObject { ["ok"] = true };
            case "group.add" or "group.remove":
                client.Require(Policies.DevicesControl);
                NeedsAllDevices(client);
                await registry.SetMembershipAsync(Str("name"), Str("id"), method.EndsWith("add", StringComparison.OrdinalIgnoreCase), ct);
                return new JsonObject { ["name"] = Str("name"), ["devices"] = new JsonArray(registry.Members(Str("name")).Select(m => (JsonNode?)m).ToArray()) };
            case "events.subscribe":
                client.Require(Policies.DevicesRead);
                client.Subscribe(p["events"] is JsonArray ev ? ev.Select(e => e!.GetValue<string>()) : ClientConnection.AllEvents,
                    p["devices"] is JsonArray dv ? dv.Select(x => x!.GetValue<string>()) : null);
                SyncMessageListeners();
                return new JsonObject { ["events"] = new JsonArray(client.Events.Select(e => (JsonNode?)e).ToArray()) };
            case "events.unsubscribe":
                client.Subscribe([], null);
                SyncMessageListeners();
                return new JsonObject { ["events"] = new JsonArray() };
            case var m when m.StartsWith("ble.", StringComparison.Ordinal) && ble is not null:
                return await ble.CallAsync(method, p, client.Require, ct);
            default:
                throw new ShellyRpcException(-32601, $"Method not found: {method}");
        }
    }

    private static JsonObject Error(JsonNode? id, int code, string message) =>
        new() { ["jsonrpc"] = "2.0", ["id"] = id?.DeepClone(), ["error"] = new JsonObject { ["code"] = code, ["message"] = message } };

    private sealed class ClientConnection : IFmClient
    {
        public ClientConnection(WebSocket socket, ClaimsPrincipal user, string? address)
        {
            Socket = socket;
            User = user;
            Address = address;
            Fm = new FmSession(this);
        }

        public static readonly string[] AllEvents = ["Shelly.Connect", "Shelly.Disconnect", "Shelly.Status", "Shelly.Event", "Shelly.Presence", "Shelly.OtaProgress", "Shelly.Pending"];

        // Serialized when posted: one event frame is shared by every client that subscribed to it.
        private readonly Channel<byte[]> _out = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        private readonly SemaphoreSlim _sendLock = new(1, 1);
        private volatile HashSet<string> _events = [];
        private volatile HashSet<string>? _devices;

        public WebSocket Socket { get; }

        public ClaimsPrincipal User { get; }

        public string? Address { get; }

        /// <summary>This connection's fleet manager subscriptions.</summary>
        public FmSession Fm { get; }

        public IEnumerable<string> Events => _events;

        public bool Wants(string evt) => _events.Contains(evt);

        private IDisposable? _messageListener;

        /// <summary>Holds a raw-frame listener on the hub while this client subscribes to Shelly.Message.</summary>
        public void SyncMessageListener(DeviceHub hub)
        {
            if (Wants("Shelly.Message"))
            {
                _messageListener ??= hub.ListenToMessages();
            }
            else
            {
                ReleaseMessageListener();
            }
        }

        public void ReleaseMessageListener()
        {
            _messageListener?.Dispose();
            _messageListener = null;
        }

        public void Require(string permission)
        {
            if (!Principals.Has(User, permission))
            {
                throw new UnauthorizedAccessException($"Your role does not allow {permission}");
            }
        }

        public void Subscribe(IEnumerable<string> events, IEnumerable<string>? devices)
        {
            _events = events.ToHashSet(StringComparer.OrdinalIgnoreCase);
            _devices = devices?.ToHashSet(StringComparer.Ordinal);
        }

        public void Post(JsonObject frame) => _out.Writer.TryWrite(JsonSerializer.SerializeToUtf8Bytes(frame));

        public void Send(byte[] frame) => _out.Writer.TryWrite(frame);

        public void Complete() => _out.Writer.TryComplete();

        public async Task CloseAsync()
        {
            try
            {
                await _sendLock.WaitAsync();
                await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
            {
            }
            finally
            {
                _sendLock.Release();
            }
        }

        /// <summary>The session ended: says why (1008) and drops the connection, so no more events go out under it.</summary>
        public async Task EndSessionAsync()
        {
            Complete();
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _sendLock.WaitAsync(cts.Token);
                try
                {
                    await Socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, "session ended", cts.Token);
                }
                finally
                {
                    _sendLock.Release();
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Best effort; the abort ends the connection either way.
            }
            // A client that does not answer the close within a moment is cut off.
            await Task.Delay(TimeSpan.FromSeconds(2));
            Socket.Abort();
        }

        public void OnDeviceEvent(DeviceEvent e)
        {
            var events = _events;
            if (events.Count == 0 || (_devices is { } devices && !devices.Contains(e.DeviceId)))
            {
                return;
            }
            var (name, p) = e.Kind switch
            {
                DeviceEventKind.Connect => ("Shelly.Connect", new JsonObject()),
                DeviceEventKind.Disconnect => ("Shelly.Disconnect", new JsonObject()),
                DeviceEventKind.Status => ("Shelly.Status", new JsonObject { ["status"] = e.Data?.DeepClone() }),
                DeviceEventKind.Event when e.Method is "ota_begin" or "ota_progress" or "ota_success" or "ota_error" && events.Contains("Shelly.OtaProgress") =>
                    ("Shelly.OtaProgress", new JsonObject { ["event"] = e.Data?.DeepClone() }),
                DeviceEventKind.Event => ("Shelly.Event", new JsonObject { ["event"] = e.Data?.DeepClone() }),
                DeviceEventKind.Message => ("Shelly.Message", new JsonObject { ["message"] = e.Data?.DeepClone(), ["direction"] = e.Outbound ? "out" : "in" }),
                DeviceEventKind.Pending => ("Shelly.Pending", new JsonObject()),
                _ => ("", new JsonObject()),
            };
            if (name.Length > 0 && events.Contains(name))
            {
                p["shellyID"] = e.DeviceId;
                p["ts"] = e.Ts;
                Post(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = name, ["params"] = p });
            }
            if (e.Kind is DeviceEventKind.Connect or DeviceEventKind.Disconnect && events.Contains("Shelly.Presence"))
            {
                Post(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = "Shelly.Presence", ["params"] = new JsonObject { ["shellyID"] = e.DeviceId, ["online"] = e.Kind == DeviceEventKind.Connect, ["presence"] = e.Kind == DeviceEventKind.Connect ? "online" : "offline", ["ts"] = e.Ts } });
            }
        }

        public async Task SendLoopAsync(CancellationToken ct)
        {
            try
            {
                await foreach (var frame in _out.Reader.ReadAllAsync(ct))
                {
                    await _sendLock.WaitAsync(ct);
                    try
                    {
                        if (Socket.State != WebSocketState.Open)
                        {
                            return;
                        }
                        await Socket.SendAsync(frame, WebSocketMessageType.Text, true, ct);
                    }
                    finally
                    {
                        _sendLock.Release();
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }
}
