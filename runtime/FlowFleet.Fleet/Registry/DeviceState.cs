using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// The live picture of one device, shared by the hub (which updates it) and everything that reads it. Lock
/// <see cref="Gate"/> to read or change the JSON members; the scalar members may be read without it.
/// </summary>
public sealed class DeviceState(string id)
{
    public string Id { get; } = id;

    public Lock Gate { get; } = new();

    public string? Name { get; set; }

    public string? Model { get; set; }

    public string? App { get; set; }

    public int Gen { get; set; } = 2;

    public string? Mac { get; set; }

    public string? FirmwareVersion { get; set; }

    public string? Ip { get; set; }

    /// <summary>pending, accepted or denied.</summary>
    public string Admission { get; set; } = AdmissionStates.Pending;

    // Info, config and status are kept as UTF-8 JSON (status per component): a parsed tree costs 5-10x the bytes, and
    // thousands of devices are held at once (bench/README.md, "memory per device").
    private byte[]? _info;
    private byte[]? _config;
    // Status components as parallel arrays (a device has a handful: a dictionary costs ~3x the bookkeeping). A component's
    // bytes are rewritten in place when the new JSON fits (padded with spaces, which JSON ignores): a status report then
    // allocates nothing that outlives it, so the long-lived heap does not churn at thousands of reports per second.
    private string[] _statusKeys = [];
    private byte[][] _statusValues = [];
    private int _statusCount;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private int IndexOf(string component)
    {
        for (var i = 0; i < _statusCount; i++)
        {
            if (string.Equals(_statusKeys[i], component, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    private void RemoveAt(int index)
    {
        _statusCount--;
        Array.Copy(_statusKeys, index + 1, _statusKeys, index, _statusCount - index);
        Array.Copy(_statusValues, index + 1, _statusValues, index, _statusCount - index);
        _statusKeys[_statusCount] = null!;
        _statusValues[_statusCount] = null!;
    }

    private static Utf8JsonWriter Writer(out ArrayBufferWriter<byte> buffer)
    {
        buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        return writer;
    }

    /// <summary>Stores a component's JSON, reusing its current bytes when the new text fits.</summary>
    private void Store(string component, JsonNode value)
    {
        var writer = Writer(out var buffer);
        value.WriteTo(writer);
        writer.Flush();
        Store(component, buffer.WrittenSpan);
    }

    /// <summary>Deep-merges a delta into a stored component straight from its bytes (no parsed copy of the stored state).</summary>
    private void StoreMerged(int index, JsonObject delta)
    {
        var writer = Writer(out var buffer);
        var stored = (ReadOnlySpan<byte>)_statusValues[index];
        var reader = new Utf8JsonReader(stored);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || !WriteMerged(ref reader, stored, delta, writer))
        {
            // Not an object, or escaped names: merge on a parsed copy instead.
            var current = JsonNode.Parse(stored) as JsonObject ?? [];
            FlowFleet.Fleet.Protocol.ShellyFrames.DeepMerge(current, delta);
            Store(_statusKeys[index], current);
            return;
        }
        writer.Flush();
        Store(_statusKeys[index], buffer.WrittenSpan);
    }

    /// <summary>
    /// Writes the object at the reader (on its StartObject) merged with <paramref name="delta"/>: delta values replace stored
    /// ones, objects merge recursively, a null removes the key, new keys come last (as <c>ShellyFrames.DeepMerge</c> does).
    /// False when a property name is escaped (the caller falls back).
    /// </summary>
    private static bool WriteMerged(ref Utf8JsonReader reader, ReadOnlySpan<byte> source, JsonObject delta, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        Span<bool> used = delta.Count <= 64 ? stackalloc bool[delta.Count] : new bool[delta.Count];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped)
            {
                return false;
            }
            var name = reader.ValueSpan;
            var match = -1;
            for (var i = 0; i < delta.Count; i++)
            {
                if (!used[i] && reader.ValueTextEquals(delta.GetAt(i).Key))
                {
                    match = i;
                    break;
                }
            }
            reader.Read();
            if (match < 0)
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                writer.WritePropertyName(name);
                writer.WriteRawValue(source[start..(int)reader.BytesConsumed], skipInputValidation: true);
                continue;
            }
            used[match] = true;
            var change = delta.GetAt(match).Value;
            if (change is JsonObject inner && reader.TokenType == JsonTokenType.StartObject)
            {
                writer.WritePropertyName(name);
                if (!WriteMerged(ref reader, source, inner, writer))
                {
                    return false;
                }
                continue;
            }
            reader.Skip();
            if (change is not null)
            {
                writer.WritePropertyName(name);
                change.WriteTo(writer);
            }
        }
        for (var i = 0; i < delta.Count; i++)
        {
            if (!used[i] && delta.GetAt(i).Value is { } added)
            {
                writer.WritePropertyName(delta.GetAt(i).Key);
                added.WriteTo(writer);
            }
        }
        writer.WriteEndObject();
        return true;
    }

    private void Store(string component, ReadOnlySpan<byte> json)
    {
        var index = IndexOf(component);
        if (index >= 0 && _statusValues[index].Length >= json.Length)
        {
            var target = _statusValues[index];
            json.CopyTo(target);
            target.AsSpan(json.Length).Fill((byte)' ');
            return;
        }
        // Some room to grow: counters and readings get longer over time.
        var bytes = new byte[json.Length + 16];
        json.CopyTo(bytes);
        bytes.AsSpan(json.Length).Fill((byte)' ');
        if (index >= 0)
        {
            _statusValues[index] = bytes;
            return;
        }
        if (_statusCount == _statusKeys.Length)
        {
            Array.Resize(ref _statusKeys, Math.Max(4, _statusCount * 2));
            Array.Resize(ref _statusValues, _statusKeys.Length);
        }
        _statusKeys[_statusCount] = string.IsInterned(component) ?? component;
        _statusValues[_statusCount] = bytes;
        _statusCount++;
    }

    /// <summary>Shelly.GetDeviceInfo as last read (a fresh copy on each get).</summary>
    public JsonObject? Info
    {
        get => _info is null ? null : PackedJson.Unpack(_info);
        set => _info = value is null ? null : PackedJson.Pack(value);
    }

    /// <summary>Shelly.GetConfig as last read (a fresh copy on each get).</summary>
    public JsonObject? Config
    {
        get => _config is null ? null : PackedJson.Unpack(_config);
        set => _config = value is null ? null : PackedJson.Pack(value);
    }

    /// <summary>The cached status: a fresh copy of every component on each get. Change it with <see cref="ReplaceStatus"/> / <see cref="MergeStatus"/>.</summary>
    public JsonObject Status
    {
        get
        {
            var o = new JsonObject();
            for (var i = 0; i < _statusCount; i++)
            {
                o[_statusKeys[i]] = JsonNode.Parse(_statusValues[i]);
            }
            return o;
        }
    }

    /// <summary>One component's status (a copy), or null.</summary>
    public JsonNode? StatusOf(string component) => IndexOf(component) is >= 0 and var i ? JsonNode.Parse(_statusValues[i]) : null;

    public bool HasStatus(string component) => IndexOf(component) >= 0;

    /// <summary>The stored bytes of a component (for tests of the in-place rewrite).</summary>
    internal byte[]? StatusBytes(string component) => IndexOf(component) is >= 0 and var i ? _statusValues[i] : null;

    /// <summary>NotifyFullStatus / GetStatus: the status becomes exactly this.</summary>
    public void ReplaceStatus(JsonObject full)
    {
        // Components the full status no longer has go; the others are rewritten (in place where they fit).
        for (var i = _statusCount - 1; i >= 0; i--)
        {
            if (!full.ContainsKey(_statusKeys[i]))
            {
                RemoveAt(i);
            }
        }
        MergeStatus(full, replace: true);
    }

    /// <summary>NotifyStatus: deep-merges a delta (a null value removes the key); <c>ts</c> is not part of the status.</summary>
    public void MergeStatus(JsonObject delta) => MergeStatus(delta, replace: false);

    private void MergeStatus(JsonObject delta, bool replace)
    {
        foreach (var (key, value) in delta)
        {
            if (key == "ts")
            {
                continue;
            }
            var index = IndexOf(key);
            if (value is null)
            {
                if (index >= 0)
                {
                    RemoveAt(index);
                }
            }
            else if (!replace && value is JsonObject changes && index >= 0)
            {
                StoreMerged(index, changes);
            }
            else
            {
                Store(key, value);
            }
        }
    }

    /// <summary>Replaces one component's config after <c>config_changed</c>.</summary>
    public void SetConfigComponent(string component, JsonNode? value)
    {
        var config = Config ?? [];
        config[component] = value?.DeepClone();
        Config = config;
    }

    internal string StatusJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            for (var i = 0; i < _statusCount; i++)
            {
                w.WritePropertyName(_statusKeys[i]);
                w.WriteRawValue(_statusValues[i].AsSpan().TrimEnd((byte)' '), skipInputValidation: true);
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Desired state ("shadow"): <c>{"switch:0":{"output":true}, "config":{"switch:0":{"name":"Heater"}}}</c>.</summary>
    public JsonObject? Desired { get; set; }

    public string[] Methods { get; set; } = [];

    public string[] Tags { get; set; } = [];

    public bool Online { get; set; }

    public DateTime FirstSeen { get; set; }

    public DateTime LastSeen { get; set; }

    public string? Password { get; set; }

    /// <summary>Identity, admission, tags or desired state changed: the whole record is written at the next flush.</summary>
    internal bool Dirty { get; set; }

    /// <summary>Only status / last seen changed: written cheaply at the next status flush.</summary>
    internal bool StatusDirty { get; set; }

    internal long LastTelemetryMs { get; set; }

    /// <summary>The fields of <c>GET /api/devices</c> items.</summary>
    public JsonObject Summary(IEnumerable<string> groups)
    {
        lock (Gate)
        {
            return new JsonObject
            {
                ["id"] = Id, ["name"] = Name, ["model"] = Model, ["app"] = App, ["gen"] = Gen, ["online"] = Online, ["admission"] = Admission,
                ["mac"] = Mac, ["fw"] = FirmwareVersion, ["ip"] = Ip, ["rssi"] = StatusOf("wifi")?["rssi"]?.DeepClone(),
                ["tags"] = new JsonArray(Tags.Select(t => (JsonNode?)t).ToArray()), ["groups"] = new JsonArray(groups.Select(g => (JsonNode?)g).ToArray()),
                ["lastSeen"] = LastSeen == default ? null : LastSeen.ToString("O"), ["readings"] = Readings(),
            };
        }
    }

    /// <summary>The summary plus info, status, config, desired state and methods (<c>GET /api/devices/{id}</c>, <c>Device.Get</c>, the registry node).</summary>
    public JsonObject Details(IEnumerable<string> groups)
    {
        var o = Summary(groups);
        lock (Gate)
        {
            // Info, Status and Config already hand out fresh copies.
            o["info"] = Info;
            o["status"] = Status;
            o["config"] = Config;
            o["desired"] = Desired?.DeepClone();
            o["methods"] = new JsonArray(Methods.Select(m => (JsonNode?)m).ToArray());
        }
        return o;
    }

    /// <summary>The headline numbers of a device (power, energy, temperature, position, brightness, outputs).</summary>
    public JsonObject Readings(JsonObject? status = null)
    {
        lock (Gate)
        {
            status ??= Status;
            var r = new JsonObject();
            double power = 0, energy = 0;
            bool hasPower = false, hasEnergy = false;
            foreach (var (key, value) in status)
            {
                if (value is not JsonObject c)
                {
                    continue;
                }
                if (c["apower"] is JsonValue ap)
                {
                    power += ap.GetValue<double>();
                    hasPower = true;
                }
                if (c["total_act_power"] is JsonValue tp)
                {
                    power += tp.GetValue<double>();
                    hasPower = true;
                }
                if (c["aenergy"]?["total"] is JsonValue ae)
                {
                    energy += ae.GetValue<double>();
                    hasEnergy = true;
                }
                if (c["total_act"] is JsonValue te)
                {
                    energy += te.GetValue<double>();
                    hasEnergy = true;
                }
                if (key.StartsWith("temperature:", StringComparison.Ordinal) && c["tC"] is JsonValue t)
                {
                    r["temperature"] = t.DeepClone();
                }
                else if (r["temperature"] is null && c["temperature"]?["tC"] is JsonValue t2)
                {
                    r["temperature"] = t2.DeepClone();
                }
                if (key.StartsWith("humidity:", StringComparison.Ordinal))
                {
                    r["humidity"] = c["rh"]?.DeepClone();
                }
                if (key.StartsWith("devicepower:", StringComparison.Ordinal))
                {
                    r["battery"] = c["battery"]?["percent"]?.DeepClone();
                }
                if (key.StartsWith("cover:", StringComparison.Ordinal))
                {
                    r["position"] = c["current_pos"]?.DeepClone();
                    r["coverState"] = c["state"]?.DeepClone();
                }
                if (key.StartsWith("light:", StringComparison.Ordinal))
                {
                    r["brightness"] = c["brightness"]?.DeepClone();
                }
                if ((key.StartsWith("switch:", StringComparison.Ordinal) || key.StartsWith("light:", StringComparison.Ordinal)) && c["output"] is JsonValue o)
                {
                    r[key] = o.DeepClone();
                }
            }
            if (hasPower)
            {
                r["power"] = Math.Round(power, 1);
            }
            if (hasEnergy)
            {
                r["energyKWh"] = Math.Round(energy / 1000, 3);
            }
            return r;
        }
    }
}

public static class AdmissionStates
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Denied = "denied";
}
