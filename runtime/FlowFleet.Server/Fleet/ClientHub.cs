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
public sealed partial class ClientHub(DeviceHub hub, IDeviceStore devices, IGroupStore groups, FmMethods fm, FmEvents fmEvents, Ble.BleClientMethods? ble = null)
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
        using var subscription = hub.Subscribe(access.Limited ? e => { if (access.CanSee(groups, e.DeviceId)) { client.OnDeviceEvent(e, hub.Remote?.Instance); } } : e => client.OnDeviceEvent(e, hub.Remote?.Instance));
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
            var device = FmFrames.Resolve(devices, name);
            device = device is not null && DeviceAccess.For(client.User).CanSee(groups, device.Id) ? device : null;
            if (device is null || !hub.IsReachable(device.Id))
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
        DeviceAccess.For(client.User).CanSee(groups, id) ? id : throw new KeyNotFoundException($"Device {id} not found");

    private static void NeedsAllDevices(ClientConnection client)
    {
        if (DeviceAccess.For(client.User).Limited)
        {
            throw new UnauthorizedAccessException("Your account is limited to some device groups; this needs access to all devices");
        }
    }

    private static JsonObject Error(JsonNode? id, int code, string message) =>
        new() { ["jsonrpc"] = "2.0", ["id"] = id?.DeepClone(), ["error"] = new JsonObject { ["code"] = code, ["message"] = message } };
}
