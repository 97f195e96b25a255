using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Hub;

/// <summary>What happened to a device.</summary>
public enum DeviceEventKind
{
    Connect,
    Disconnect,
    Status,
    Event,
    Message,
    Pending,
    Presence,

    /// <summary>The cached config was re-read (after <c>config_changed</c> or a new <c>sys.cfg_rev</c>).</summary>
    Config,

    /// <summary>The cached device info was re-read.</summary>
    Info,
}

/// <summary>
/// One device event. <see cref="Data"/> is the status delta (Status), one entry of <c>events</c> (Event), the whole frame
/// (Message) or null. Subscribers must not modify it.
/// </summary>
public sealed record DeviceEvent(DeviceEventKind Kind, string DeviceId, JsonNode? Data, double Ts, bool Outbound = false)
{
    // Events the hub raises from a device's frame carry their data as UTF-8 JSON or, for a status report, as the report's
    // parsed element: the tree is built on the first read of Data, once, and shared by every subscriber that reads it; an
    // event nobody reads as a tree costs no tree (issue 19).
    private byte[]? _json;
    private readonly JsonElement _report;
    private JsonNode? _data = Data;

    /// <summary>An event whose data is the UTF-8 JSON <paramref name="json"/> (exactly one value, owned by the event).</summary>
    internal DeviceEvent(DeviceEventKind kind, string deviceId, double ts, byte[] json)
        : this(kind, deviceId, null, ts) => _json = json;

    /// <summary>
    /// A status event over a device's report (the frame's <c>params</c> object, <c>ts</c> included) as an element the event
    /// owns (cloned from the frame's document): its data is the report without <c>ts</c>.
    /// </summary>
    internal DeviceEvent(DeviceEventKind kind, string deviceId, double ts, JsonElement report)
        : this(kind, deviceId, null, ts) => _report = report;

    /// <summary>The event's data as a tree (built from <see cref="Json"/> on first read, then shared). Do not modify it.</summary>
    public JsonNode? Data
    {
        get => _data ?? (_json is null && _report.ValueKind == JsonValueKind.Undefined ? null : Build());
        init => _data = value;
    }

    /// <summary>
    /// The data as UTF-8 JSON when the event came from a device's frame (empty otherwise: read <see cref="Data"/>). A
    /// subscriber that needs its own copy or a few fields reads it here rather than building and cloning the shared tree.
    /// </summary>
    public ReadOnlyMemory<byte> Json => _json ?? (_report.ValueKind == JsonValueKind.Undefined ? null : WrittenJson());

    /// <summary>
    /// A status event's components as read-only elements over the event's copy of the device's report, without a parse or a
    /// copy (empty for other events, and for status events that carry a tree: read <see cref="Data"/>). Elements stay valid
    /// for as long as anyone holds them.
    /// </summary>
    public StatusComponents Components => new(_report);

    private JsonNode? Build()
    {
        var built = JsonNode.Parse(Json.Span);
        return Interlocked.CompareExchange(ref _data, built, null) ?? built;
    }

    private byte[] WrittenJson()
    {
        var written = StatusComponents.WriteJson(_report);
        return Interlocked.CompareExchange(ref _json, written, null) ?? written;
    }

    /// <summary>
    /// The device's state the hub updated for this event (status events from a device connected here; null otherwise). It is
    /// the registry's own object unless <see cref="DeviceState.Removed"/>: a subscriber reads it instead of looking the id up.
    /// </summary>
    public DeviceState? State { get; init; }

    /// <summary>The component the event concerns (<c>switch:0</c>), when there is one.</summary>
    public string? Component { get; init; }

    public string? Method { get; init; }

    /// <summary>
    /// In a cluster, the instance holding the device when another one does (the event came over NATS); null for events of
    /// devices connected here, and always null in a single process.
    /// </summary>
    public string? Instance { get; init; }
}

/// <summary>
/// A device connection that is not the <c>/shelly</c> websocket but presents itself as one (messages in, messages out, close):
/// the same hub, session, registry and fleet nodes serve it. <see cref="Transport"/> names it on the Devices page and in the API.
/// </summary>
public interface IDeviceChannel
{
    string Transport { get; }

    /// <summary>The <c>src</c> the server's requests carry on this channel: where the device sends its answers.</summary>
    string Source { get; }
}
