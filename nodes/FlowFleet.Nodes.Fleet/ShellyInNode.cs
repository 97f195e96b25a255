using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Fleet;

/// <summary>Device events into a flow: status changes, events (buttons, config changes, OTA), connects and disconnects.</summary>
[NodeType("shelly in", Category = "fleet", Inputs = 0, Outputs = 1, Color = "#7fb7df", Icon = "wifi", LabelProperty = "target",
    Help = """
    Sends a message for each event of one device, a group, a tag or all devices. `events` picks the kinds (`status`,
    `event`, `connect`, `disconnect`); `component` narrows to one component (`switch:0`) or type (`switch`).
    `msg.topic` = device id, `msg.payload` = the status delta (only matching components) or the event, `msg.kind`,
    `msg.component`, `msg.device` = `{id, name, model, app, gen, online}`; in a cluster `msg.instance` names the instance holding
    the device. "Whole cluster" also takes events of devices other instances hold (off: each event runs once, on its holder).
    """)]
public sealed class ShellyInNode(DeviceHub hub, IDeviceStore devices) : FlowNode<ShellyInConfig>
{
    private readonly System.Threading.Channels.Channel<FlowMessage> _pending =
        System.Threading.Channels.Channel.CreateBounded<FlowMessage>(new System.Threading.Channels.BoundedChannelOptions(10_000)
        {
            FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite, SingleReader = true,
        });

    private IDisposable? _subscription;
    private Task? _pump;
    private long _dropped;
    // Events not yet handed to the flow: queued for the pump, or a direct send still waiting for room. While there are any,
    // new events queue behind them (a device's events keep their order).
    private int _behind;
    // 1 while an event is being sent on the hub's thread (one at a time, so two devices' direct sends never interleave).
    private int _direct;
    // A direct send that found a full queue: the pump delivers nothing queued before it is done.
    private volatile Task? _stalled;
    private HashSet<string> _members = [];
    private HashSet<string> _kinds = [];
    private long _count;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _kinds = (Config.Events ?? "status,event,connect,disconnect").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        RefreshMembers();
        devices.Changed += OnDevicesChanged;
        _subscription = hub.Subscribe(OnEvent);
        _pump = Task.Run(PumpAsync, CancellationToken.None);
        Node.Status(new NodeStatus("grey", "ring", "waiting"));
        return Task.CompletedTask;
    }

    private void OnDevicesChanged(string id, string what)
    {
        if (what is "groups" or "tags" or "admission" or "removed")
        {
            RefreshMembers();
        }
    }

    private void RefreshMembers() =>
        _members = Config.TargetType is "group" or "tag" ? FleetTargets.Resolve(devices, Config.TargetType, Config.Target, null).ToHashSet(StringComparer.Ordinal) : [];

    private bool Matches(string deviceId) => Config.TargetType switch
    {
        "group" or "tag" => _members.Contains(deviceId),
        "all" or null or "" => true,
        _ => string.Equals(deviceId, Config.Target?.Trim(), StringComparison.Ordinal) || string.IsNullOrWhiteSpace(Config.Target),
    };

    private void OnEvent(DeviceEvent e)
    {
        var kind = e.Kind switch
        {
            DeviceEventKind.Status => "status",
            DeviceEventKind.Event => "event",
            DeviceEventKind.Connect => "connect",
            DeviceEventKind.Disconnect => "disconnect",
            _ => null,
        };
        // In a cluster every instance runs the same flows: a device's events trigger them on the instance holding the device
        // only (events mirrored from other instances carry Instance), so each event runs once across the cluster — unless
        // the node asks for the whole cluster's events.
        if (kind is null || (e.Instance is not null && !Config.Everywhere) || !_kinds.Contains(kind) || !Matches(e.DeviceId))
        {
            return;
        }
        JsonNode? payload;
        string? component = e.Component;
        var filter = Config.Component?.Trim();
        switch (e.Kind)
        {
            case DeviceEventKind.Status when !e.Components.IsEmpty || e.Data is JsonObject:
                var selected = e.Components.IsEmpty ? Select((JsonObject)e.Data!, filter) : Select(e.Components, filter);
                if (selected.Count == 0)
                {
                    return;
                }
                if (selected.Count == 1)
                {
                    component = selected.GetAt(0).Key;
                }
                payload = selected;
                break;
            case DeviceEventKind.Event:
                if (!string.IsNullOrEmpty(filter) && (component is null || !ComponentMatches(component, filter)))
                {
                    return;
                }
                payload = e.Data?.DeepClone();
                break;
            default:
                payload = JsonValue.Create(kind);
                break;
        }
        var body = new JsonObject
        {
            ["_msgid"] = MessageId.New(), ["topic"] = e.DeviceId, ["payload"] = payload, ["kind"] = kind, ["component"] = component,
            ["ts"] = e.Ts, ["device"] = DeviceInfoCache.For(e.State is { Removed: false } state ? state : devices.Get(e.DeviceId), e.DeviceId),
        };
        if ((e.Instance ?? hub.Remote?.Instance) is { } instance)
        {
            // In a cluster: the instance holding the device.
            body["instance"] = instance;
        }
        var msg = new FlowMessage(body);
        if (TrySendDirect(msg))
        {
            return;
        }
        // Device events arrive on the hub's receive path, which must never wait for a slow flow: behind others they queue
        // here and a pump feeds the flow; when the flow falls 10,000 events behind, new ones are dropped and counted.
        Interlocked.Increment(ref _behind);
        if (!_pending.Writer.TryWrite(msg))
        {
            Interlocked.Decrement(ref _behind);
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>
    /// Sends the event into the flow on the hub's thread when nothing is waiting before it: a pump woken for every event
    /// cost a thread wake-up per device frame (issue 19, bench/README.md ingest). It cannot hold the hub: the send waits for
    /// a full queue without a thread (<see cref="Runtime.Nodes.INodeHost.SendAsync"/>), and only nodes that run inline
    /// (switch, change, rbe: short C# work) run here; every other node takes the message from its queue.
    /// </summary>
    private bool TrySendDirect(FlowMessage msg)
    {
        if (Volatile.Read(ref _behind) != 0 || Interlocked.CompareExchange(ref _direct, 1, 0) != 0)
        {
            return false;
        }
        try
        {
            if (Volatile.Read(ref _behind) != 0)
            {
                return false;
            }
            var sent = Node.SendAsync(msg);
            if (!sent.IsCompleted)
            {
                // A full queue: later events queue behind this one until it is in.
                Interlocked.Increment(ref _behind);
                _stalled = StallAsync(sent);
            }
            else
            {
                sent.GetAwaiter().GetResult();
            }
            Counted();
            return true;
        }
        finally
        {
            Volatile.Write(ref _direct, 0);
        }
    }

    private async Task StallAsync(ValueTask sent)
    {
        try
        {
            await sent.ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _behind);
        }
    }

    private void Counted()
    {
        var n = Interlocked.Increment(ref _count);
        if (n == 1 || n % 500 == 0)
        {
            var dropped = Interlocked.Read(ref _dropped);
            Node.Status(dropped == 0 ? new NodeStatus("green", "dot", $"{n} events") : new NodeStatus("yellow", "ring", $"{n} events, {dropped} dropped (flow too slow)"));
        }
    }

    private async Task PumpAsync()
    {
        try
        {
            while (await _pending.Reader.WaitToReadAsync(Node.Closing).ConfigureAwait(false))
            {
                while (_pending.Reader.TryRead(out var msg))
                {
                    if (_stalled is { } stalled)
                    {
                        // Queued behind a direct send still waiting for room: it goes first.
                        await stalled.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                        _stalled = null;
                    }
                    Node.Send(msg);
                    Interlocked.Decrement(ref _behind);
                    Counted();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The delta's components the node passes on, as the message's own copy.</summary>
    private static JsonObject Select(JsonObject delta, string? filter)
    {
        var selected = new JsonObject();
        foreach (var (key, value) in delta)
        {
            if (string.IsNullOrEmpty(filter) || ComponentMatches(key, filter))
            {
                selected[key] = value?.DeepClone();
            }
        }
        return selected;
    }

    /// <summary>
    /// The same from the device's report (events from device frames): each component passed on is the message's own node
    /// over the report's read-only element — nothing parsed again, no shared tree of the whole delta built and cloned
    /// (issue 19). A flow that changes it changes its own copy only.
    /// </summary>
    private JsonObject Select(StatusComponents components, string? filter)
    {
        var selected = new JsonObject();
        Span<char> name = stackalloc char[64];
        foreach (var component in components)
        {
            // Names compare without a string: most components of a delta are not the one a node asks for.
            var raw = JsonMarshal.GetRawUtf8PropertyName(component);
            var plain = raw.Length <= name.Length && raw.IndexOf((byte)'\\') < 0;
            var chars = plain ? name[..Encoding.UTF8.GetChars(raw, name)] : default;
            if (!string.IsNullOrEmpty(filter) && !ComponentMatches(plain ? chars : component.Name, filter))
            {
                continue;
            }
            var value = component.Value;
            selected[plain ? Named(chars) : component.Name] = value.ValueKind switch
            {
                JsonValueKind.Object => JsonObject.Create(value),
                JsonValueKind.Array => JsonArray.Create(value),
                JsonValueKind.Null => null,
                _ => JsonValue.Create(value),
            };
        }
        return selected;
    }

    // The component names this node passed on last: every device of a kind reports the same few, so each message's key is
    // one of these strings rather than a new one per frame.
    private readonly string?[] _names = new string?[4];
    private int _nextName;

    private string Named(ReadOnlySpan<char> chars)
    {
        var names = _names;
        foreach (var known in names)
        {
            if (known is not null && chars.SequenceEqual(known))
            {
                return known;
            }
        }
        var made = chars.ToString();
        // Replaced in turn. Events of several connections may come here at once: a slot holds some whole string that is
        // compared before use, so a race only costs a new string.
        names[_nextName++ & (names.Length - 1)] = made;
        return made;
    }

    private static bool ComponentMatches(ReadOnlySpan<char> key, string filter) =>
        key.Equals(filter, StringComparison.OrdinalIgnoreCase) || (!filter.Contains(':', StringComparison.Ordinal)
            && key.Length > filter.Length && key[filter.Length] == ':' && key.StartsWith(filter, StringComparison.OrdinalIgnoreCase));

    public override ValueTask CloseAsync(bool removed)
    {
        devices.Changed -= OnDevicesChanged;
        _subscription?.Dispose();
        _pending.Writer.TryComplete();
        return _pump is null ? ValueTask.CompletedTask : new ValueTask(_pump.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default));
    }
}

public sealed class ShellyInConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"all\"", UiHint = PropertyUi.Select, Options = ["device:Device", "group:Group", "tag:Tag", "all:All devices"], Label = "Devices")]
    public string? TargetType { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Device id / group / tag")]
    public string? Target { get; set; }

    [NodeProperty(Default = "\"status,event,connect,disconnect\"", Label = "Events", Help = "Comma-separated: status, event, connect, disconnect")]
    public string? Events { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Component", Help = "switch:0, or a type such as switch; empty = all")]
    public string? Component { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Whole cluster", Help = "In a cluster, also take events of devices connected to other instances (each instance running this flow then sees them); off: only the instance holding a device runs the flow for it, once per event")]
    public bool Everywhere { get; set; }
}
