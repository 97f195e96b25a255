using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Server.Fleet.FleetManager;

/// <summary>
/// Turns device events into Shelly fleet manager's events and hands them to the subscribed clients: <c>Shelly.Connect</c>
/// (with the device object), <c>Shelly.Disconnect</c>, <c>Shelly.Presence</c> (<c>online/offline/pending</c>),
/// <c>Shelly.Status</c> (the whole status, as FM sends it), <c>Shelly.Info</c>, <c>Shelly.Settings</c>, <c>Shelly.KVS</c>,
/// <c>Shelly.Message</c> (frames from the device, answers with the request in <c>req</c>), <c>Shelly.Delete</c> and the
/// entity events <c>Entity.Added</c>/<c>Removed</c>/<c>Event</c>.
/// Each event is built and serialized once, and only when someone wants it.
/// </summary>
public sealed partial class FmEvents : IDisposable
{
    private readonly DeviceHub _hub;
    private readonly IDeviceStore _devices;
    private readonly ILogger<FmEvents> _logger;
    private readonly IDisposable _subscription;
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> _kvs = new(StringComparer.Ordinal);
    // The entity ids last announced per device, so Entity.Added/Removed name only what changed (as FM's device does).
    private readonly ConcurrentDictionary<string, string[]> _entities = new(StringComparer.Ordinal);
    // Requests sent to devices, kept while someone listens for Shelly.Message so an answer carries its request (req).
    private readonly ConcurrentDictionary<(string Device, string Id), JsonObject> _requests = new();
    private readonly SemaphoreSlim _kvsReads = new(8);
    private ImmutableArray<FmSession> _sessions = [];
    private IDisposable? _messageListener;
    private readonly Lock _listenerGate = new();

    public FmEvents(DeviceHub hub, IDeviceStore devices, ILogger<FmEvents> logger)
    {
        _hub = hub;
        _devices = devices;
        _logger = logger;
        _subscription = hub.Subscribe(OnDeviceEvent);
        devices.Changed += OnDevicesChanged;
    }

    public void Dispose()
    {
        _subscription.Dispose();
        _devices.Changed -= OnDevicesChanged;
        _messageListener?.Dispose();
        _kvsReads.Dispose();
    }

    /// <summary>A device's KVS as last read (FM's device object carries it).</summary>
    public IReadOnlyDictionary<string, string>? KvsOf(string id) => _kvs.GetValueOrDefault(id);

    public IDisposable Register(FmSession session)
    {
        ImmutableInterlocked.Update(ref _sessions, s => s.Add(session));
        return new Registration(this, session);
    }

    private sealed class Registration(FmEvents owner, FmSession session) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                ImmutableInterlocked.Update(ref owner._sessions, s => s.Remove(session));
                owner.SubscriptionsChanged();
            }
        }
    }

    /// <summary>Holds the hub's raw-frame listener exactly while some client subscribes to <c>Shelly.Message</c>.</summary>
    public void SubscriptionsChanged()
    {
        var wanted = _sessions.Any(s => s.Wants("Shelly.Message"));
        lock (_listenerGate)
        {
            if (wanted)
            {
                _messageListener ??= _hub.ListenToMessages();
            }
            else
            {
                _messageListener?.Dispose();
                _messageListener = null;
                _requests.Clear();
            }
        }
    }

    private bool AnyWants(string name)
    {
        foreach (var s in _sessions)
        {
            if (s.Wants(name))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Builds the event (once) if a subscription takes it and sends it to every session that does.</summary>
    private void Publish(string name, string? deviceId, Func<JsonObject> build, IReadOnlyList<string>? reasons = null)
    {
        byte[]? bytes = null;
        foreach (var s in _sessions)
        {
            if (!s.Takes(name, deviceId, reasons))
            {
                continue;
            }
            bytes ??= JsonSerializer.SerializeToUtf8Bytes(FmFrames.Event(name, build()));
            s.Client.Send(bytes);
        }
    }

    private void OnDeviceEvent(DeviceEvent e)
    {
        if (_sessions.IsEmpty)
        {
            return;
        }
        var id = e.DeviceId;
        switch (e.Kind)
        {
            case DeviceEventKind.Connect when _devices.Get(id) is { } d:
                Publish("Shelly.Connect", id, () => new JsonObject { ["shellyID"] = id, ["device"] = FmFrames.DeviceObject(d, true, KvsOf(id)) });
                Publish("Shelly.Info", id, () => new JsonObject { ["shellyID"] = id, ["info"] = d.Info ?? [] });
                Publish("Shelly.Settings", id, () => new JsonObject { ["shellyID"] = id, ["settings"] = d.Config ?? [] });
                Publish("Shelly.Presence", id, () => Presence(id, "online", e.Instance));
                if (AnyWants("Shelly.KVS") || AnyWants("Shelly.Connect"))
                {
                    _ = ReadKvsAsync(id);
                }
                AnnounceEntities(d);
                break;
            case DeviceEventKind.Disconnect:
                Publish("Shelly.Disconnect", id, () => new JsonObject { ["shellyID"] = id });
                Publish("Shelly.Presence", id, () => Presence(id, "offline", e.Instance));
                break;
            case DeviceEventKind.Pending:
                Publish("Shelly.Presence", id, () => Presence(id, "pending", null));
                break;
            case DeviceEventKind.Status when e.Data is JsonObject delta && _devices.Get(id) is { } d:
                var reasons = delta.Where(kv => kv.Key != "ts").Select(kv => FmFrames.Reason(kv.Key, kv.Value)).ToList();
                Publish("Shelly.Status", id, () =>
                {
                    lock (d.Gate)
                    {
                        return new JsonObject { ["shellyID"] = id, ["status"] = d.Status };
                    }
                }, reasons);
                if (delta["sys"]?["kvs_rev"] is not null && AnyWants("Shelly.KVS"))
                {
                    _ = ReadKvsAsync(id);
                }
                break;
            case DeviceEventKind.Config when _devices.Get(id) is { } d:
                Publish("Shelly.Settings", id, () => new JsonObject { ["shellyID"] = id, ["settings"] = d.Config ?? [] });
                AnnounceEntities(d);
                break;
            case DeviceEventKind.Event:
                EntityEvent(e);
                break;
            case DeviceEventKind.Info when _devices.Get(id) is { } d:
                Publish("Shelly.Info", id, () => new JsonObject { ["shellyID"] = id, ["info"] = d.Info ?? [] });
                break;
            case DeviceEventKind.Message when e.Data is JsonObject frame:
                OnMessage(id, frame, e.Outbound);
                break;
        }
    }

    /// <summary>FM forwards a component's event (<c>input:0</c> single_push) as its entity's <c>Entity.Event</c>.</summary>
    private void EntityEvent(DeviceEvent e)
    {
        if (e.Component is not { } component || e.Data is not JsonObject data || data["event"]?.ToString() is not { } what
            || !AnyWants("Entity.Event") || _devices.Get(e.DeviceId) is not { } d)
        {
            return;
        }
        if (FmEntities.ForComponent(d, component)?["id"]?.GetValue<string>() is { } entityId)
        {
            Publish("Entity.Event", null, () => new JsonObject { ["entityId"] = entityId, ["event"] = what });
        }
    }

    private void AnnounceEntities(DeviceState d)
    {
        if (!AnyWants("Entity.Added") && !AnyWants("Entity.Removed"))
        {
            _entities.TryRemove(d.Id, out _);
            return;
        }
        var now = FmEntities.Of(d).Select(e => e["id"]!.GetValue<string>()).ToArray();
        var before = _entities.GetValueOrDefault(d.Id) ?? [];
        _entities[d.Id] = now;
        foreach (var added in now.Except(before, StringComparer.Ordinal))
        {
            Publish("Entity.Added", null, () => new JsonObject { ["entityId"] = added });
        }
        foreach (var removed in before.Except(now, StringComparer.Ordinal))
        {
            Publish("Entity.Removed", null, () => new JsonObject { ["entityId"] = removed });
        }
    }

    /// <summary>FM's presence event; in a cluster it also names the instance holding the device (<paramref name="instance"/>, or this one).</summary>
    private JsonObject Presence(string id, string presence, string? instance)
    {
        var p = new JsonObject { ["shellyID"] = id, ["presence"] = presence };
        if ((instance ?? _hub.Remote?.Instance) is { } holder)
        {
            p["instance"] = holder;
        }
        return p;
    }

    private void OnMessage(string id, JsonObject frame, bool outbound)
    {
        var frameId = frame["id"]?.ToJsonString();
        if (outbound)
        {
            // Requests to devices are not Shelly.Message events; they are remembered for the answer's req.
            if (frameId is not null && frame["method"] is not null && _requests.Count < 10_000)
            {
                _requests[(id, frameId)] = frame.DeepClone().AsObject();
            }
            return;
        }
        JsonObject? request = null;
        if (frameId is not null && frame["method"] is null)
        {
            _requests.TryRemove((id, frameId), out request);
        }
        Publish("Shelly.Message", id, () =>
        {
            var p = new JsonObject { ["shellyID"] = id, ["message"] = frame.DeepClone() };
            if (request is not null)
            {
                p["req"] = request;
            }
            return p;
        });
    }

    private void OnDevicesChanged(string id, string what)
    {
        if (what == "removed")
        {
            _kvs.TryRemove(id, out _);
            Publish("Shelly.Delete", id, () => new JsonObject { ["shellyID"] = id });
            if (_entities.TryRemove(id, out var entities))
            {
                foreach (var entityId in entities)
                {
                    Publish("Entity.Removed", null, () => new JsonObject { ["entityId"] = entityId });
                }
            }
        }
    }

    /// <summary>Reads the device's KVS (<c>KVS.GetMany</c>) for FM's device object and emits <c>Shelly.KVS</c>.</summary>
    public async Task ReadKvsAsync(string id)
    {
        if (_hub.Session(id) is not { Admitted: true } session || !(_devices.Get(id)?.Methods.Contains("KVS.GetMany", StringComparer.OrdinalIgnoreCase) ?? false))
        {
            return;
        }
        await _kvsReads.WaitAsync().ConfigureAwait(false);
        try
        {
            var result = await session.CallAsync("KVS.GetMany", new JsonObject()).ConfigureAwait(false);
            var kvs = ParseKvs(result?["items"]);
            _kvs[id] = kvs;
            Publish("Shelly.KVS", id, () =>
            {
                var o = new JsonObject();
                foreach (var (k, v) in kvs)
                {
                    o[k] = v;
                }
                return new JsonObject { ["shellyID"] = id, ["kvs"] = o };
            });
        }
        catch (ShellyRpcException ex)
        {
            LogKvsFailed(id, ex.Message);
        }
        finally
        {
            _kvsReads.Release();
        }
    }

    /// <summary>KVS.GetMany's items: an object keyed by key (firmware 1.x) or an array of <c>{key, value}</c> (newer).</summary>
    public static IReadOnlyDictionary<string, string> ParseKvs(JsonNode? items)
    {
        var kvs = new Dictionary<string, string>(StringComparer.Ordinal);
        static string Text(JsonNode? v) => v is JsonValue s && s.TryGetValue<string>(out var text) ? text : v?.ToJsonString() ?? "";
        switch (items)
        {
            case JsonObject o:
                foreach (var (k, v) in o)
                {
                    kvs[k] = Text(v is JsonObject entry && entry.ContainsKey("value") ? entry["value"] : v);
                }
                break;
            case JsonArray a:
                foreach (var entry in a.OfType<JsonObject>())
                {
                    if (entry["key"]?.ToString() is { } key)
                    {
                        kvs[key] = Text(entry["value"]);
                    }
                }
                break;
        }
        return kvs;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "KVS of {Id} not read: {Error}")]
    private partial void LogKvsFailed(string id, string error);
}
