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
    private readonly Dictionary<string, byte[]> _status = new(StringComparer.Ordinal);

    /// <summary>Shelly.GetDeviceInfo as last read (a fresh copy on each get).</summary>
    public JsonObject? Info
    {
        get => _info is null ? null : JsonNode.Parse(_info) as JsonObject;
        set => _info = value is null ? null : JsonSerializer.SerializeToUtf8Bytes(value);
    }

    /// <summary>Shelly.GetConfig as last read (a fresh copy on each get).</summary>
    public JsonObject? Config
    {
        get => _config is null ? null : JsonNode.Parse(_config) as JsonObject;
        set => _config = value is null ? null : JsonSerializer.SerializeToUtf8Bytes(value);
    }

    /// <summary>The cached status: a fresh copy of every component on each get. Change it with <see cref="ReplaceStatus"/> / <see cref="MergeStatus"/>.</summary>
    public JsonObject Status
    {
        get
        {
            var o = new JsonObject();
            foreach (var (key, bytes) in _status)
            {
                o[key] = JsonNode.Parse(bytes);
            }
            return o;
        }
    }

    /// <summary>One component's status (a copy), or null.</summary>
    public JsonNode? StatusOf(string component) => _status.TryGetValue(component, out var b) ? JsonNode.Parse(b) : null;

    public bool HasStatus(string component) => _status.ContainsKey(component);

    /// <summary>NotifyFullStatus / GetStatus: the status becomes exactly this.</summary>
    public void ReplaceStatus(JsonObject full)
    {
        _status.Clear();
        MergeStatus(full);
    }

    /// <summary>NotifyStatus: deep-merges a delta (a null value removes the key); <c>ts</c> is not part of the status.</summary>
    public void MergeStatus(JsonObject delta)
    {
        foreach (var (key, value) in delta)
        {
            if (key == "ts")
            {
                continue;
            }
            if (value is null)
            {
                _status.Remove(key);
            }
            else if (value is JsonObject changes && _status.TryGetValue(key, out var existing) && JsonNode.Parse(existing) is JsonObject current)
            {
                FlowFleet.Fleet.Protocol.ShellyFrames.DeepMerge(current, changes);
                _status[key] = JsonSerializer.SerializeToUtf8Bytes(current);
            }
            else
            {
                _status[string.IsInterned(key) ?? key] = JsonSerializer.SerializeToUtf8Bytes(value);
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
            foreach (var (key, bytes) in _status)
            {
                w.WritePropertyName(key);
                w.WriteRawValue(bytes, skipInputValidation: true);
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
