using System.Collections.Immutable;
using System.Security.Claims;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Fleet.FleetManager;

/// <summary>The connection a fleet manager client holds: who it is and how frames reach it.</summary>
public interface IFmClient
{
    ClaimsPrincipal User { get; }

    /// <summary>Queues a serialized frame for the client (never blocks; a slow client loses the oldest frames).</summary>
    void Send(byte[] frame);
}

/// <summary>
/// One client's <c>FleetManager.Subscribe</c> subscriptions: each event name subscribed gets an id (<c>{"ids":[…]}</c>),
/// optionally limited to <c>options.shellyIDs</c> and filtered per event by <c>options.events[name].deny/allow</c> rules
/// on the change's reason (FM's <c>EventDistributor</c>). Subscriptions end with the connection.
/// </summary>
public sealed class FmSession(IFmClient client)
{
    private static int s_nextId;

    private sealed record Subscription(int Id, string Event, HashSet<string>? Devices, string[]? Allow, string[]? Deny);

    private ImmutableArray<Subscription> _subscriptions = [];

    public IFmClient Client { get; } = client;

    /// <summary>Adds one subscription per event name; returns their ids.</summary>
    public IReadOnlyList<int> Subscribe(IEnumerable<string> events, JsonObject? options)
    {
        ArgumentNullException.ThrowIfNull(events);
        var devices = options?["shellyIDs"] is JsonArray ids ? ids.Select(x => x?.ToString() ?? "").ToHashSet(StringComparer.Ordinal) : null;
        var added = new List<Subscription>();
        foreach (var name in events)
        {
            var rules = options?["events"]?[name] as JsonObject;
            added.Add(new Subscription(Interlocked.Increment(ref s_nextId), name, devices, Rules(rules?["allow"]), Rules(rules?["deny"])));
        }
        ImmutableInterlocked.Update(ref _subscriptions, s => s.AddRange(added));
        return added.Select(s => s.Id).ToList();
    }

    private static string[]? Rules(JsonNode? node) => node is JsonArray a ? a.Select(x => x?.ToString() ?? "").ToArray() : null;

    /// <summary>Removes subscriptions by id; returns how many were removed.</summary>
    public int Unsubscribe(IEnumerable<int> ids)
    {
        var set = ids.ToHashSet();
        var before = _subscriptions.Length;
        ImmutableInterlocked.Update(ref _subscriptions, s => s.RemoveAll(x => set.Contains(x.Id)));
        return before - _subscriptions.Length;
    }

    public IEnumerable<string> Events => _subscriptions.Select(s => s.Event).Distinct(StringComparer.Ordinal);

    public bool Wants(string eventName)
    {
        foreach (var s in _subscriptions)
        {
            if (s.Event == eventName)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>True when a subscription takes this event of this device with one of these reasons (null: no reason).</summary>
    public bool Takes(string eventName, string? deviceId, IReadOnlyList<string>? reasons)
    {
        foreach (var s in _subscriptions)
        {
            if (s.Event != eventName || (deviceId is not null && s.Devices is { } devices && !devices.Contains(deviceId)))
            {
                continue;
            }
            if (reasons is null || reasons.Count == 0 || reasons.Any(r => Passes(s, r)))
            {
                return true;
            }
        }
        return false;
    }

    private static bool Passes(Subscription s, string reason) =>
        (s.Deny is null || !s.Deny.Any(rule => FmFrames.Matches(reason, rule)))
        && (s.Allow is null || s.Allow.Any(rule => FmFrames.Matches(reason, rule)));
}
