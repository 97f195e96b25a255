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

/// <summary>One /client websocket: its user, subscriptions and fleet manager session.</summary>
public sealed partial class ClientHub
{
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
        public Task EndSessionAsync()
        {
            Complete();
            return SessionClose.EndAsync(Socket, _sendLock);
        }

        /// <param name="here">This instance's name in a cluster (null in a single process): events name the instance holding the device.</param>
        public void OnDeviceEvent(DeviceEvent e, string? here)
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
                if ((e.Instance ?? here) is { } instance)
                {
                    p["instance"] = instance;
                }
                Post(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = name, ["params"] = p });
            }
            if (e.Kind is DeviceEventKind.Connect or DeviceEventKind.Disconnect && events.Contains("Shelly.Presence"))
            {
                var presence = new JsonObject { ["shellyID"] = e.DeviceId, ["online"] = e.Kind == DeviceEventKind.Connect, ["presence"] = e.Kind == DeviceEventKind.Connect ? "online" : "offline", ["ts"] = e.Ts };
                if ((e.Instance ?? here) is { } instance)
                {
                    presence["instance"] = instance;
                }
                Post(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = "Shelly.Presence", ["params"] = presence });
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
