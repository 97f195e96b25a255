using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using NATS.Client.Core;

namespace FlowFleet.Fleet.Cluster;

/// <summary>
/// The waiting room shared by the cluster. A device waiting for admission on one instance goes out on the fan-out as a
/// <c>waiting</c> item (in its device's order, so its later admission overtakes nothing); the claims an instance holds
/// (connections claiming an accepted device's id, issue 13) go out as one <c>claims</c> snapshot whenever they change. Every
/// instance lists them, and an operator's decision made through any instance goes to the instance holding the connection
/// on <c>{subject}.decide.{owner}</c> (<see cref="DeviceHub.DecideHereAsync"/>), which admits or turns away the device
/// exactly as a local decision would. A device that already left answers "not here", and the asker decides on the stored
/// record itself.
/// </summary>
public sealed partial class NatsCluster
{
    private const string ClaimsKey = "~claims";

    private readonly ConcurrentDictionary<string, string> _waiting = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyList<DeviceClaim>> _remoteClaims = new(StringComparer.Ordinal);

    public string? WaiterOf(string deviceId) => _waiting.GetValueOrDefault(deviceId);

    public IReadOnlyList<DeviceClaim> Claims => [.. _remoteClaims.Values.SelectMany(c => c)];

    public async Task<bool> DecideAsync(string owner, WaitingDecision decision, string target, CancellationToken ct)
    {
        if (_nats is not { } nats)
        {
            return false;
        }
        var request = new JsonObject { ["decision"] = decision.ToString(), ["target"] = target }.ToJsonString();
        NatsMsg<string> reply;
        try
        {
            // Accepting reads the device's identity there (four calls, each within the RPC timeout).
            reply = await nats.RequestAsync<string, string>(Subject("decide." + owner), request,
                replyOpts: new NatsSubOpts { Timeout = hub.Options.RpcTimeout * 2 + ReplyMargin }, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (NatsNoRespondersException)
        {
            // The instance is gone: nothing waits there; what it announced is stale.
            DropWaiting(owner);
            return false;
        }
        catch (NatsException ex)
        {
            // No answer in time (or NATS is down): whether it decided is unknown — say so rather than decide here as well.
            throw new InvalidOperationException($"Instance {owner}, which holds the connection of {target}, did not confirm the decision: {ex.Message}", ex);
        }
        var answer = JsonNode.Parse(reply.Data ?? "null") as JsonObject;
        if (JsonRead.Text(answer?["error"]) is { } error)
        {
            throw new InvalidOperationException($"Instance {owner} could not decide on {target}: {error}");
        }
        return JsonRead.Bool(answer?["done"]) == true;
    }

    private async Task ServeDecisionAsync(NatsMsg<string> m, CancellationToken ct)
    {
        JsonObject answer;
        try
        {
            var request = JsonNode.Parse(m.Data ?? "null") as JsonObject;
            answer = Enum.TryParse<WaitingDecision>(JsonRead.Text(request?["decision"]), out var decision) && JsonRead.Text(request?["target"]) is { Length: > 0 } target
                ? new JsonObject { ["done"] = await hub.DecideHereAsync(decision, target, ct).ConfigureAwait(false) }
                : new JsonObject { ["error"] = "Bad decision request" };
        }
        catch (OperationCanceledException)
        {
            return;
        }
#pragma warning disable CA1031 // Whatever failed is the asker's answer (its operator sees it); this instance goes on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            answer = new JsonObject { ["error"] = ex.Message };
        }
        try
        {
            await m.ReplyAsync(answer.ToJsonString(), cancellationToken: ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException)
        {
            LogPublishFailed(ex.Message);
        }
    }

    /// <summary>The waiting room changed here (a device waits, or a claim came, was identified or ended): tell the others.</summary>
    private void OnWaiting(DeviceEvent e)
    {
        if (hub.Session(e.DeviceId) is { Admitted: false, IsClosed: false } session)
        {
            Enqueue(e.DeviceId, new FanoutItem { Kind = FanoutKind.Raw, Raw = WaitingItem(session) });
        }
        EnqueueClaims();
    }

    /// <summary>The claims held here, as one snapshot (a newer one replaces a queued one).</summary>
    private void EnqueueClaims() => Enqueue(ClaimsKey, new FanoutItem { Kind = FanoutKind.Raw, Coalesces = "claims", Raw = ClaimsItem() });

    /// <summary>A device came online here: if it was an accepted claim, the claims the others list from here changed.</summary>
    private void OnAdmittedHere()
    {
        if (Volatile.Read(ref _claimsAnnounced) > 0)
        {
            EnqueueClaims();
        }
    }

    private int _claimsAnnounced;

    private byte[] ClaimsItem() => Write(w =>
        {
            var count = 0;
            w.WriteString("kind", "claims");
            w.WriteString("device", ClaimsKey);
            w.WriteStartArray("claims");
            foreach (var c in hub.LocalClaims)
            {
                w.WriteStartObject();
                w.WriteString("key", c.Key);
                w.WriteString("id", c.Id);
                w.WriteString("remote", c.Remote);
                w.WriteString("at", c.At.ToString("O", CultureInfo.InvariantCulture));
                w.WriteBoolean("withToken", c.WithToken);
                w.WriteString("model", c.Model);
                w.WriteString("app", c.App);
                w.WriteString("firmware", c.Firmware);
                w.WriteString("mac", c.Mac);
                w.WriteEndObject();
                count++;
            }
            w.WriteEndArray();
            Volatile.Write(ref _claimsAnnounced, count);
        });

    /// <summary>A device waiting for admission here: what the waiting room shows of it.</summary>
    private byte[] WaitingItem(DeviceSession session)
    {
        var d = session.State;
        return Write(w =>
        {
            w.WriteString("kind", "waiting");
            w.WriteString("device", d.Id);
            w.WriteString("model", d.Model);
            w.WriteString("app", d.App);
            w.WriteNumber("gen", d.Gen);
            w.WriteString("fw", d.FirmwareVersion);
            w.WriteString("ip", d.Ip ?? session.RemoteAddress);
            w.WriteString("since", session.ConnectedAt.ToString("O", CultureInfo.InvariantCulture));
        });
    }

    /// <summary>A waiting device or the claims of <paramref name="instance"/>: listed here, raised as the waiting room changing.</summary>
    private void ApplyWaiting(string instance, string id, string kind, JsonObject a)
    {
        if (kind == "claims")
        {
            var claims = (a["claims"] as JsonArray ?? []).OfType<JsonObject>().Select(c => new DeviceClaim(
                JsonRead.Text(c["key"]) ?? "", JsonRead.Text(c["id"]) ?? "", JsonRead.Text(c["remote"]),
                DateTime.TryParse(JsonRead.Text(c["at"]), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at) ? at : DateTime.UtcNow,
                JsonRead.Bool(c["withToken"]) == true, JsonRead.Text(c["model"]), JsonRead.Text(c["app"]), JsonRead.Text(c["firmware"]), JsonRead.Text(c["mac"]))
            { Instance = instance }).Where(c => c.Key.Length > 0 && c.Id.Length > 0).ToList();
            var before = _remoteClaims.GetValueOrDefault(instance) ?? [];
            _remoteClaims[instance] = claims;
            RaiseWaiting(instance, before.Concat(claims).Select(c => c.Id).Distinct(StringComparer.Ordinal));
            return;
        }
        if (hub.Session(id) is { IsClosed: false })
        {
            // Connected here (again) since: this instance speaks for it.
            return;
        }
        _waiting[id] = instance;
        var state = registry.Touch(id, out var created);
        lock (state.Gate)
        {
            if (created)
            {
                // Known here only through the owner's word: never written to the store from here (see Mirror).
                state.Dirty = false;
                state.Mirrored = true;
                state.FirstSeen = DateTime.UtcNow;
            }
            state.Admission = AdmissionStates.Pending;
            state.Model = JsonRead.Text(a["model"]) ?? state.Model;
            state.App = JsonRead.Text(a["app"]) ?? state.App;
            state.FirmwareVersion = JsonRead.Text(a["fw"]) ?? state.FirmwareVersion;
            state.Ip = JsonRead.Text(a["ip"]) ?? state.Ip;
            if (a["gen"] is JsonValue g && g.TryGetValue<int>(out var gen))
            {
                state.Gen = gen;
            }
            state.LastSeen = DateTime.UtcNow;
        }
        RaiseWaiting(instance, [id]);
    }

    private void RaiseWaiting(string instance, IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            hub.RaiseRemote(new DeviceEvent(DeviceEventKind.Pending, id, null, ShellyFrames.Now()) { Instance = instance });
        }
    }

    /// <summary>The instance is gone: nothing waits there any more.</summary>
    private void DropWaiting(string instance)
    {
        foreach (var (id, owner) in _waiting)
        {
            if (owner == instance)
            {
                _waiting.TryRemove(new KeyValuePair<string, string>(id, owner));
            }
        }
        if (_remoteClaims.TryRemove(instance, out var claims))
        {
            RaiseWaiting(instance, claims.Select(c => c.Id).Distinct(StringComparer.Ordinal));
        }
    }
}
