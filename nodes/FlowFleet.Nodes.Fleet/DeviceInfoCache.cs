using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Nodes.Fleet;

/// <summary>
/// <c>msg.device</c> for each device event without building it per event (issue 19: its six-member <see cref="JsonObject"/>
/// was ~880 B and ~0.5 µs of every status frame's work). The object is parsed once per device and per change of its fields
/// into a shared, read-only <see cref="JsonElement"/>; each message gets its own <see cref="JsonObject"/> over it, which
/// builds its members only when a flow reads or changes them — never the shared element — and writes the same JSON. The
/// element is kept with the device (<see cref="DeviceState.Derived"/>): a table beside it cost a few cache misses per frame.
/// </summary>
public static class DeviceInfoCache
{
    /// <summary>The message's own <c>msg.device</c>: the same members and JSON as <see cref="FleetTargets.DeviceInfo"/>.</summary>
    public static JsonObject For(DeviceState? d, string id)
    {
        if (d is null)
        {
            return FleetTargets.DeviceInfo(d, id);
        }
        if (d.Derived is not Entry entry || !entry.Matches(d, id))
        {
            entry = new Entry(d, id);
            d.Derived = entry;
        }
        return JsonObject.Create(entry.Element)!;
    }

    private sealed class Entry
    {
        private readonly string _id;
        private readonly string? _name, _model, _app;
        private readonly int _gen;
        private readonly bool _online;

        public Entry(DeviceState d, string id)
        {
            (_id, _name, _model, _app, _gen, _online) = (id, d.Name, d.Model, d.App, d.Gen, d.Online);
            // A cloned element owns its bytes: no document to dispose, safe to share between threads and messages.
            using var document = JsonDocument.Parse(FleetTargets.DeviceInfo(d, id).ToJsonString());
            Element = document.RootElement.Clone();
        }

        public JsonElement Element { get; }

        /// <summary>Whether the device's fields are still the ones the element was made of (read each event: they change).</summary>
        public bool Matches(DeviceState d, string id) => _gen == d.Gen && _online == d.Online && string.Equals(_id, id, StringComparison.Ordinal)
            && string.Equals(_name, d.Name, StringComparison.Ordinal) && string.Equals(_model, d.Model, StringComparison.Ordinal)
            && string.Equals(_app, d.App, StringComparison.Ordinal);
    }
}
