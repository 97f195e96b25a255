using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using NATS.Client.Core;

namespace FlowFleet.Fleet.Cluster;

/// <summary>
/// Device fan-out: what happens to the devices connected here goes out on <c>{subject}.dev.{instance}</c>, and what other
/// instances send is mirrored into this registry and raised as hub events (with <see cref="DeviceEvent.Instance"/> set), so
/// the Devices pages, <c>/client</c> subscribers (both protocols) and registry-reading nodes see the whole fleet. One
/// subscription per instance takes every owner's messages in the order the owner sent them (NATS keeps a publisher's order),
/// so an announcement's status snapshot never overtakes a later delta.
/// </summary>
public sealed partial class NatsCluster
{
    private long _published;
    private long _received;
    private long _moves;
    private long _badMessages;

    /// <summary>Device messages this instance published, received from others, and stale sessions it closed for a move.</summary>
    public (long Published, long Received, long Moves) Counters => (Interlocked.Read(ref _published), Interlocked.Read(ref _received), Interlocked.Read(ref _moves));

    private void OnDeviceEvent(DeviceEvent e)
    {
        // Only what happened here goes out; events mirrored from other instances carry their instance and stay local.
        if (e.Instance is not null || _nats is null)
        {
            return;
        }
        // Hub handlers run inline on the device's receive loop: only queue here; the fan-out sender publishes in batches.
        switch (e.Kind)
        {
            case DeviceEventKind.Connect when hub.Session(e.DeviceId) is { Admitted: true } session:
                // Held here now: whatever another instance said about it is past.
                _owners.TryRemove(e.DeviceId, out _);
                Enqueue(e.DeviceId, new FanoutItem { Kind = FanoutKind.Raw, Raw = Announcement(session, true, true) });
                OnAdmittedHere();
                break;
            case DeviceEventKind.Disconnect:
                Enqueue(e.DeviceId, new FanoutItem { Kind = FanoutKind.Raw, Raw = Offline(e.DeviceId) });
                break;
            case DeviceEventKind.Status when OwnCopy(e) is JsonObject delta:
                Enqueue(e.DeviceId, new FanoutItem { Kind = FanoutKind.Status, Delta = delta, Ts = e.Ts });
                break;
            case DeviceEventKind.Event:
                Enqueue(e.DeviceId, new FanoutItem { Kind = FanoutKind.Raw, IsEvent = true, Raw = Write(w => WriteEvent(w, e, "event", e.Json.IsEmpty ? e.Data : null)) });
                break;
            case DeviceEventKind.Config when registry.Get(e.DeviceId) is { } d:
                // The whole object is sent, so a newer one replaces a queued one (unless something came between).
                Enqueue(e.DeviceId, new FanoutItem { Kind = FanoutKind.Raw, Coalesces = "config", Raw = Write(w => WriteEvent(w, e, "config", d.Config)) });
                break;
            case DeviceEventKind.Info when registry.Get(e.DeviceId) is { } d:
                Enqueue(e.DeviceId, new FanoutItem { Kind = FanoutKind.Raw, Coalesces = "info", Raw = Write(w => WriteEvent(w, e, "info", d.Info)) });
                break;
            case DeviceEventKind.Pending:
                OnWaiting(e);
                break;
            default:
                // Raw frames (the Data page) stay with the instance the device is connected to.
                return;
        }
    }

    /// <summary>
    /// A tree of the event's data this subscriber owns (later deltas merge into it): parsed from the frame's JSON when the
    /// event has it, so the hub's shared tree is neither built nor cloned for the fan-out.
    /// </summary>
    private static JsonNode? OwnCopy(DeviceEvent e) => e.Json.IsEmpty ? e.Data?.DeepClone() : JsonNode.Parse(e.Json.Span);

    private void WriteEvent(Utf8JsonWriter w, DeviceEvent e, string kind, JsonNode? data)
    {
        w.WriteString("kind", kind);
        w.WriteString("device", e.DeviceId);
        w.WriteNumber("ts", e.Ts);
        if (e.Component is not null)
        {
            w.WriteString("component", e.Component);
        }
        if (e.Method is not null)
        {
            w.WriteString("method", e.Method);
        }
        if (kind == "event" && !e.Json.IsEmpty)
        {
            // The entry as the device sent it, without building the hub's tree.
            w.WritePropertyName("data");
            w.WriteRawValue(e.Json.Span, skipInputValidation: true);
            return;
        }
        WriteNode(w, "data", data);
    }

    private static void WriteNode(Utf8JsonWriter w, string name, JsonNode? node)
    {
        w.WritePropertyName(name);
        if (node is null)
        {
            w.WriteNullValue();
        }
        else
        {
            node.WriteTo(w);
        }
    }

    /// <summary>
    /// "This device is held here": identity, info, config and status, so other instances show it whole. <paramref name="fresh"/>
    /// marks a new connection (it wins over any older session elsewhere); a re-announce carries the session's start instead.
    /// </summary>
    private byte[] Announcement(DeviceSession session, bool online, bool fresh)
    {
        var d = session.State;
        if (!online)
        {
            return Offline(d.Id);
        }
        JsonObject status;
        JsonObject? info, config;
        lock (d.Gate)
        {
            status = d.Status;
            info = d.Info;
            config = d.Config;
        }
        return Write(w =>
        {
            w.WriteString("kind", "own");
            w.WriteString("instance", Instance);
            w.WriteString("device", d.Id);
            w.WriteBoolean("online", true);
            w.WriteBoolean("fresh", fresh);
            w.WriteNumber("since", session.ConnectedAt.ToUnixTimeMilliseconds());
            w.WriteString("name", d.Name);
            w.WriteString("model", d.Model);
            w.WriteString("app", d.App);
            w.WriteNumber("gen", d.Gen);
            w.WriteString("fw", d.FirmwareVersion);
            w.WriteString("transport", d.Transport);
            w.WriteString("tokenHash", d.TokenHash);
            w.WriteString("bound", session.RemoteAddress ?? d.BoundAddress);
            WriteNode(w, "info", info);
            WriteNode(w, "config", config);
            WriteNode(w, "status", status);
        });
    }

    private byte[] Offline(string id) => Write(w =>
    {
        w.WriteString("kind", "own");
        w.WriteString("instance", Instance);
        w.WriteString("device", id);
        w.WriteBoolean("online", false);
    });

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Queues every device held here for a resync: its whole state goes out with the next batches.</summary>
    private void AnnounceAll()
    {
        // Batches numbered after this carry it: a receiver missing only earlier ones needs no second resend (OnResync).
        Interlocked.Exchange(ref _announcedAt, Interlocked.Read(ref _seq));
        // Admitted devices and those waiting for admission (a resync writes each as it is when sent), and the claims.
        foreach (var s in hub.Sessions.Where(s => !s.IsClosed))
        {
            EnqueueResync(s.Id);
        }
        EnqueueClaims();
    }

    /// <summary>One device message of <paramref name="instance"/> (an item of its batch).</summary>
    private void Apply(string instance, JsonObject a)
    {
        if (JsonRead.Text(a["device"]) is not { Length: > 0 } id)
        {
            return;
        }
        Interlocked.Increment(ref _received);
        var kind = JsonRead.Text(a["kind"]);
        if (kind is "waiting" or "claims")
        {
            ApplyWaiting(instance, id, kind, a);
            return;
        }
        if (kind == "own")
        {
            if (JsonRead.Bool(a["online"]) == true)
            {
                OnOwned(id, instance, a);
            }
            else
            {
                Forget(id, instance);
            }
            return;
        }
        // Only the instance known to hold the device speaks for it (a stale session elsewhere is being closed).
        if (!_owners.TryGetValue(id, out var owner) || owner != instance || hub.IsOnline(id) || registry.Get(id) is not { } state)
        {
            return;
        }
        var ts = JsonRead.Number(a["ts"]) ?? ShellyFrames.Now();
        var component = JsonRead.Text(a["component"]);
        var method = JsonRead.Text(a["method"]);
        var payload = a["data"];
        switch (kind)
        {
            case "status" when payload is JsonObject delta:
                lock (state.Gate)
                {
                    // The owner stores and persists the device's status; this is the live mirror of it.
                    state.MergeStatus(delta, hub.Options.StatusLimits);
                    state.LastSeen = DateTime.UtcNow;
                }
                hub.RaiseRemote(new DeviceEvent(DeviceEventKind.Status, id, delta, ts) { Instance = instance });
                break;
            case "event":
                hub.RaiseRemote(new DeviceEvent(DeviceEventKind.Event, id, payload, ts) { Component = component, Method = method, Instance = instance });
                break;
            case "config" when payload is JsonObject config:
                state.Config = config;
                hub.RaiseRemote(new DeviceEvent(DeviceEventKind.Config, id, null, ts) { Component = component, Instance = instance });
                break;
            case "info" when payload is JsonObject info:
                state.Info = info;
                hub.RaiseRemote(new DeviceEvent(DeviceEventKind.Info, id, null, ts) { Instance = instance });
                break;
        }
    }

    /// <summary>Another instance holds the device: mirror it, or, when a session here is older, hand the device over.</summary>
    private void OnOwned(string id, string instance, JsonObject a)
    {
        if (hub.Session(id) is { Admitted: true, IsClosed: false } local)
        {
            // The device has one socket: a fresh connection elsewhere means the one here is stale (the device left without
            // closing it, e.g. through a load balancer that moved it). On a re-announce the newer session wins.
            var since = JsonRead.Number(a["since"]) ?? 0;
            var mine = local.ConnectedAt.ToUnixTimeMilliseconds();
            var yields = JsonRead.Bool(a["fresh"]) == true || mine < since || (mine == since && string.CompareOrdinal(Instance, instance) < 0);
            if (!yields)
            {
                EnqueueResync(id);
                return;
            }
            _owners[id] = instance;
            Mirror(id, instance, a);
            if (hub.CloseMoved(id, instance))
            {
                Interlocked.Increment(ref _moves);
            }
            return;
        }
        var previous = _owners.GetValueOrDefault(id);
        _owners[id] = instance;
        // Admitted there: it waits no more.
        _waiting.TryRemove(id, out _);
        Mirror(id, instance, a);
        if (previous != instance)
        {
            hub.RaiseRemote(new DeviceEvent(DeviceEventKind.Connect, id, null, ShellyFrames.Now()) { Instance = instance });
        }
    }

    private void Mirror(string id, string instance, JsonObject a)
    {
        var state = registry.Touch(id, out var created);
        lock (state.Gate)
        {
            // Another instance admitted it; this registry mirrors it so lists, filters and pages show the whole fleet. The
            // mirror is never written to the store: it lacks what only the owner knows (token hash, password, tags, bound
            // address), and on a shared PostgreSQL store its row would replace the owner's.
            if (created)
            {
                state.Dirty = false;
            }
            state.Mirrored = true;
            // The owner's proof of identity, so a connection here claiming the id is held to the same test (issue 13).
            state.TokenHash = JsonRead.Text(a["tokenHash"]) ?? state.TokenHash;
            state.BoundAddress = JsonRead.Text(a["bound"]) ?? state.BoundAddress;
            state.Admission = AdmissionStates.Accepted;
            state.Name ??= JsonRead.Text(a["name"]);
            state.Model = JsonRead.Text(a["model"]) ?? state.Model;
            state.App = JsonRead.Text(a["app"]) ?? state.App;
            state.FirmwareVersion = JsonRead.Text(a["fw"]) ?? state.FirmwareVersion;
            state.Transport = JsonRead.Text(a["transport"]) ?? state.Transport;
            if (a["gen"] is JsonValue g && g.TryGetValue<int>(out var gen))
            {
                state.Gen = gen;
            }
            if (a["info"] is JsonObject info)
            {
                state.Info = info;
            }
            if (a["config"] is JsonObject config)
            {
                state.Config = config;
            }
            if (a["status"] is JsonObject status)
            {
                state.ReplaceStatus(status, hub.Options.StatusLimits);
            }
            state.Online = true;
            state.LastSeen = DateTime.UtcNow;
        }
        LogOwned(id, instance);
    }

    /// <summary>The instance no longer holds the device (it left, or the instance is gone): offline unless held here or elsewhere since.</summary>
    private void Forget(string id, string instance)
    {
        if (!_owners.TryRemove(new KeyValuePair<string, string>(id, instance)) || hub.IsOnline(id) || registry.Get(id) is not { } state)
        {
            return;
        }
        lock (state.Gate)
        {
            state.Online = false;
            state.LastSeen = DateTime.UtcNow;
        }
        hub.RaiseRemote(new DeviceEvent(DeviceEventKind.Disconnect, id, null, ShellyFrames.Now()) { Instance = instance });
    }
}
