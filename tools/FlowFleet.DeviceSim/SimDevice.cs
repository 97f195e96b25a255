using System.Globalization;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.DeviceSim;

/// <summary>
/// One simulated Shelly Gen2+ device: its components, configuration and RPC methods (case-insensitive, with Shelly's result
/// shapes and error codes). It knows nothing about sockets: notifications go out through <see cref="Notify"/>.
/// </summary>
public sealed partial class SimDevice
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (JsonObject Status, JsonObject Config)> _components = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Value, string Etag)> _kvs = new(StringComparer.Ordinal);
    private readonly Dictionary<int, JsonObject> _scripts = [];
    private readonly Dictionary<int, JsonObject> _schedules = [];
    private readonly Random _random;
    private readonly DateTimeOffset _bootTime = DateTimeOffset.UtcNow;
    private readonly double _baseLoad;
    private CancellationTokenSource? _motion;
    private int _cfgRev = 10;
    private int _kvsRev;
    private int _scheduleRev;
    private string _version = "1.4.2";
    private string _fwId = "20240819-074337/1.4.2-gc2639da";
    private string? _ha1;

    public SimDevice(SimProfile profile, int index, string? password = null, string? macPrefix = null)
    {
        Profile = profile;
        Index = index;
        var seed = unchecked((int)(uint)(index * 2654435761u) & 0x7fffffff);
        _random = new Random(seed);
        Mac = (macPrefix ?? "C0FFEE") + (index & 0xFFFFFF).ToString("X6", CultureInfo.InvariantCulture);
        Id = $"{profile.IdPrefix}-{Mac.ToLowerInvariant()}";
        _baseLoad = index % 7 == 0 ? 2050 + seed % 300 : 20 + seed % 1500;
        foreach (var (key, status, config) in profile.Components(seed))
        {
            _components[key] = (status, config);
        }
        AddSystemComponents();
        if (password is not null)
        {
            _ha1 = ShellyDigest.Ha1(Id, password);
        }
    }

    public SimProfile Profile { get; }

    public int Index { get; }

    public string Id { get; }

    public string Mac { get; }

    /// <summary>Outbound notification frames (NotifyStatus / NotifyFullStatus / NotifyEvent).</summary>
    public event Action<JsonObject>? Notify;

    /// <summary>Raised when the device reboots (after <c>Shelly.Reboot</c>, an update or a restart-requiring config).</summary>
    public event Action<TimeSpan>? Rebooting;

    /// <summary>Frames received and answered, for tests and the CLI's summary.</summary>
    public long Requests { get; private set; }

    public bool AuthEnabled => _ha1 is not null;

    /// <summary>The outbound websocket target from the <c>ws</c> component (<c>null</c> when disabled or <c>"#"</c>).</summary>
    public string? OutboundServer
    {
        get
        {
            lock (_gate)
            {
                var ws = _components["ws"].Config;
                var server = ws["server"]?.GetValue<string>();
                return ws["enable"]?.GetValue<bool>() == true && !string.IsNullOrEmpty(server) && server != "#" ? server : null;
            }
        }
    }

    public void SetOutboundServer(string? server)
    {
        lock (_gate)
        {
            var ws = _components["ws"].Config;
            ws["server"] = server;
            ws["enable"] = server is not null;
        }
    }

    public void SetConnected(bool connected)
    {
        lock (_gate)
        {
            _components["ws"].Status["connected"] = connected;
        }
    }

    /// <summary>A copy of one component's status (tests and the CLI look at it).</summary>
    public JsonObject? Status(string key)
    {
        lock (_gate)
        {
            return _components.TryGetValue(key, out var c) ? (JsonObject)c.Status.DeepClone() : null;
        }
    }

    public JsonObject? Config(string key)
    {
        lock (_gate)
        {
            return _components.TryGetValue(key, out var c) ? (JsonObject)c.Config.DeepClone() : null;
        }
    }

    public JsonObject DeviceInfo()
    {
        return new JsonObject
        {
            ["name"] = _components["sys"].Config["device"]!["name"]?.DeepClone(), ["id"] = Id, ["mac"] = Mac, ["slot"] = 1, ["model"] = Profile.Model, ["gen"] = 2,
            ["fw_id"] = _fwId, ["ver"] = _version, ["app"] = Profile.App, ["auth_en"] = _ha1 is not null, ["auth_domain"] = _ha1 is null ? null : Id,
            ["profile"] = Profile.DeviceProfile,
        };
    }

    /// <summary>The NotifyFullStatus frame a device sends when its outbound websocket connects.</summary>
    public JsonObject FullStatusFrame()
    {
        lock (_gate)
        {
            var p = FullStatus();
            p["ts"] = ShellyFrames.Now();
            return ShellyFrames.Notification(Id, "NotifyFullStatus", p);
        }
    }

    /// <summary>
    /// Answers one request frame. Returns the response frame, or <c>null</c> for a notification (no <c>id</c>) or a frame
    /// addressed to another device. <paramref name="requireAuth"/> is true on the device-local channels when auth is enabled.
    /// </summary>
    public JsonObject? HandleFrame(JsonObject frame, string source, bool localChannel)
    {
        var dst = frame["dst"]?.GetValue<string>();
        if (dst is not null && dst != Id && dst != "ws")
        {
            return null;
        }
        var id = frame["id"]?.DeepClone();
        var src = frame["src"]?.GetValue<string>();
        var method = frame["method"]?.GetValue<string>() ?? "";
        JsonObject response = new() { ["id"] = id, ["src"] = Id };
        if (src is not null)
        {
            response["dst"] = src;
        }
        try
        {
            if (localChannel && _ha1 is not null && !method.Equals("Shelly.GetDeviceInfo", StringComparison.OrdinalIgnoreCase))
            {
                CheckAuth(frame["auth"]);
            }
            var result = Call(method, frame["params"] as JsonObject, source);
            if (id is null)
            {
                return null;
            }
            response["result"] = result;
        }
        catch (ShellyRpcException ex)
        {
            if (id is null)
            {
                return null;
            }
            response["error"] = ex.ToJson();
        }
        return response;
    }

    private void CheckAuth(JsonNode? auth)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (auth is null)
        {
            throw new ShellyRpcException(ShellyRpcException.Unauthorized, ShellyDigest.Challenge(Id, now));
        }
        if (auth is not JsonObject o || o["response"] is null || o["nonce"] is null || o["cnonce"] is null)
        {
            throw new ShellyRpcException(400, "Malformed auth object");
        }
        if (!ShellyDigest.Verify(o, Id, _ha1!, now - 3600))
        {
            throw new ShellyRpcException(ShellyRpcException.Unauthorized, ShellyDigest.Challenge(Id, now));
        }
    }

    /// <summary>HTTP digest check for the device-local <c>/rpc</c> (HA2 = METHOD:URI).</summary>
    public bool VerifyHttpDigest(string? authorization, string httpMethod, out string challenge)
    {
        var nonce = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        challenge = $"Digest qop=\"auth\", realm=\"{Id}\", nonce=\"{nonce}\", algorithm=SHA-256";
        if (_ha1 is null)
        {
            return true;
        }
        if (authorization is null || !authorization.StartsWith("Digest ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var parts = DigestHeader.Parse(authorization[7..]);
        if (!parts.TryGetValue("nonce", out var n) || !long.TryParse(n, CultureInfo.InvariantCulture, out var nonceValue) || nonceValue < nonce - 3600
            || !parts.TryGetValue("uri", out var uri) || !parts.TryGetValue("nc", out var nc) || !parts.TryGetValue("cnonce", out var cnonce)
            || !parts.TryGetValue("response", out var response) || parts.GetValueOrDefault("username") != ShellyDigest.User)
        {
            return false;
        }
        var expected = ShellyDigest.Sha256Hex($"{_ha1}:{n}:{nc}:{cnonce}:auth:{ShellyDigest.Sha256Hex(httpMethod + ":" + uri)}");
        return string.Equals(expected, response, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Fault injection for tests and demos: return an error for a call (method, params) to make the device refuse it, as a
    /// real one does (an overheated relay, a busy cover); null lets the call through.
    /// </summary>
    public Func<string, JsonObject?, ShellyRpcException?>? Fault { get; set; }

    /// <summary>Calls a method as if it came in a frame (names are case-insensitive). Throws <see cref="ShellyRpcException"/>.</summary>
    public JsonNode? Call(string method, JsonObject? p, string source = "WS_in")
    {
        if (Fault?.Invoke(method, p) is { } fault)
        {
            throw fault;
        }
        List<JsonObject> outbox = [];
        JsonNode? result;
        lock (_gate)
        {
            Requests++;
            result = Dispatch(method, p ?? [], source, outbox);
        }
        foreach (var frame in outbox)
        {
            Notify?.Invoke(frame);
        }
        return result;
    }

    private void Emit(List<JsonObject> outbox, JsonObject changes)
    {
        changes["ts"] = ShellyFrames.Now();
        outbox.Add(ShellyFrames.Notification(Id, "NotifyStatus", changes));
    }

    private void EmitEvents(List<JsonObject> outbox, params JsonObject[] events)
    {
        var ts = ShellyFrames.Now();
        foreach (var e in events)
        {
            e["ts"] = ts;
        }
        outbox.Add(ShellyFrames.Notification(Id, "NotifyEvent", new JsonObject { ["ts"] = ts, ["events"] = new JsonArray(events) }));
    }

    private void Send(JsonObject frame) => Notify?.Invoke(frame);

    private JsonObject FullStatus()
    {
        var o = new JsonObject();
        UpdateSys();
        foreach (var (key, c) in _components)
        {
            o[key] = c.Status.DeepClone();
        }
        return o;
    }

    private void UpdateSys()
    {
        var sys = _components["sys"].Status;
        var now = DateTimeOffset.UtcNow;
        sys["uptime"] = (long)(now - _bootTime).TotalSeconds;
        sys["unixtime"] = now.ToUnixTimeSeconds();
        sys["time"] = now.ToLocalTime().ToString("HH:mm", CultureInfo.InvariantCulture);
        sys["cfg_rev"] = _cfgRev;
        sys["kvs_rev"] = _kvsRev;
        sys["schedule_rev"] = _scheduleRev;
    }

    private void AddSystemComponents()
    {
        var ip = $"192.168.{10 + (Index >> 8) % 200}.{Index % 254 + 1}";
        _components["sys"] = (
            new JsonObject
            {
                ["mac"] = Mac, ["restart_required"] = false, ["time"] = null, ["unixtime"] = null, ["uptime"] = 0, ["ram_size"] = 246000, ["ram_free"] = 150000 - Index % 5000,
                ["fs_size"] = 458752, ["fs_free"] = 135168, ["cfg_rev"] = _cfgRev, ["kvs_rev"] = 0, ["schedule_rev"] = 0, ["webhook_rev"] = 0,
                ["available_updates"] = new JsonObject { ["stable"] = new JsonObject { ["version"] = "1.5.0" } },
            },
            new JsonObject
            {
                ["device"] = new JsonObject { ["name"] = null, ["mac"] = Mac, ["fw_id"] = _fwId, ["eco_mode"] = false, ["profile"] = Profile.DeviceProfile, ["discoverable"] = true },
                ["location"] = new JsonObject { ["tz"] = "Europe/Sofia", ["lat"] = 42.67, ["lon"] = 23.31 },
                ["debug"] = new JsonObject { ["mqtt"] = new JsonObject { ["enable"] = false }, ["websocket"] = new JsonObject { ["enable"] = false } },
                ["sntp"] = new JsonObject { ["server"] = "time.google.com" },
                ["cfg_rev"] = _cfgRev,
            });
        _components["wifi"] = (
            new JsonObject { ["sta_ip"] = ip, ["status"] = "got ip", ["ssid"] = "FlowFleetLab", ["rssi"] = -50 - Index % 30 },
            new JsonObject
            {
                ["ap"] = new JsonObject { ["ssid"] = Id, ["is_open"] = true, ["enable"] = false },
                ["sta"] = new JsonObject { ["ssid"] = "FlowFleetLab", ["is_open"] = false, ["enable"] = true, ["ipv4mode"] = "dhcp" },
                ["sta1"] = new JsonObject { ["ssid"] = null, ["is_open"] = true, ["enable"] = false, ["ipv4mode"] = "dhcp" },
                ["roam"] = new JsonObject { ["rssi_thr"] = -80, ["interval"] = 60 },
            });
        _components["cloud"] = (new JsonObject { ["connected"] = false }, new JsonObject { ["enable"] = false, ["server"] = "iot.shelly.cloud:6012/jrpc" });
        _components["mqtt"] = (new JsonObject { ["connected"] = false }, new JsonObject { ["enable"] = false, ["server"] = null, ["client_id"] = Id, ["topic_prefix"] = Id });
        _components["ws"] = (new JsonObject { ["connected"] = false }, new JsonObject { ["enable"] = false, ["server"] = null, ["ssl_ca"] = "ca.pem" });
        _components["ble"] = (new JsonObject(), new JsonObject { ["enable"] = true, ["rpc"] = new JsonObject { ["enable"] = true }, ["observer"] = new JsonObject { ["enable"] = false } });
    }
}
