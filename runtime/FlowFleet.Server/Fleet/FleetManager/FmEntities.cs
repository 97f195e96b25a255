using System.Globalization;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Server.Fleet.FleetManager;

/// <summary>
/// Shelly fleet manager's entities: one per controllable or readable component of a device, composed from its status and
/// config as FM's <c>EntityComposer</c> does (ids <c>&lt;shellyID&gt;_&lt;n&gt;:out</c> for switches, <c>:temp</c>,
/// <c>:light</c>, <c>:input</c>, <c>:em1</c>, <c>:&lt;type&gt;</c> for the rest; virtual components and BTHome sensors are
/// keyed by FM's numeric device id). FM's web UI builds its widgets from these (<c>Entity.List</c>, <c>Entity.GetInfo</c>)
/// and sends <c>&lt;type&gt;.toggle</c> with <c>params.id = properties.id</c> to <c>source</c>.
/// </summary>
public static class FmEntities
{
    private static readonly string[] s_virtualTypes = ["boolean", "number", "text", "enum", "button", "bthomesensor"];

    // FM's built-in kinds in FM's order: status type, id suffix, default title (null: the device's name alone).
    private static readonly (string Type, string Suffix, string? Title)[] s_builtIn =
    [
        ("input", "input", "Input"), ("switch", "out", null), ("temperature", "temp", null), ("em1", "em1", null),
        ("em", "em", "Energy Meter"), ("light", "light", null), ("rgbw", "rgbw", "RGBW"), ("rgb", "rgb", "RGB"),
        ("pm1", "pm1", "Power Meter"), ("cover", "cover", "Cover"),
    ];

    /// <summary>The entities of a device, in FM's order.</summary>
    public static List<JsonObject> Of(DeviceState d)
    {
        ArgumentNullException.ThrowIfNull(d);
        JsonObject status;
        JsonObject? config;
        string? deviceName;
        lock (d.Gate)
        {
            status = d.Status;
            config = d.Config;
            deviceName = d.Info?["name"] is JsonValue n && n.TryGetValue<string>(out var s) && s.Length > 0 ? s : d.Name;
        }
        var list = new List<JsonObject>();
        foreach (var (type, suffix, title) in s_builtIn)
        {
            var keys = status.Select(kv => kv.Key).Where(k => k.StartsWith(type + ":", StringComparison.Ordinal)).ToList();
            foreach (var key in keys)
            {
                var channel = Channel(key, status[key]);
                var cfg = config?[key] as JsonObject;
                var name = cfg?["name"] is JsonValue cn && cn.TryGetValue<string>(out var given) && given.Length > 0 ? given
                    : DefaultName(type, title, keys.Count > 1 ? channel : null, deviceName ?? d.Id);
                var properties = new JsonObject { ["id"] = channel };
                if (type == "input")
                {
                    var inputType = cfg?["type"]?.ToString();
                    properties["type"] = inputType;
                    properties["unit"] = inputType == "analog" ? cfg?["xpercent"]?["unit"]?.ToString() is { Length: > 0 } u ? u : "%" : "";
                }
                else if (type == "cover")
                {
                    properties["favorites"] = Favorites(config, channel);
                }
                list.Add(Entity(name, $"{d.Id}_{channel}:{suffix}", type, d.Id, properties));
            }
        }
        var numeric = FmFrames.NumericId(d.Id).ToString(CultureInfo.InvariantCulture);
        foreach (var type in s_virtualTypes)
        {
            foreach (var key in status.Select(kv => kv.Key).Where(k => k.StartsWith(type + ":", StringComparison.Ordinal)).ToList())
            {
                var channel = Channel(key, status[key]);
                var cfg = config?[key] as JsonObject;
                var name = cfg?["name"] is JsonValue cn && cn.TryGetValue<string>(out var given) && given.Length > 0 ? given
                    : $"{VirtualTitle(type)} {deviceName ?? numeric}";
                var properties = new JsonObject { ["id"] = channel, ["view"] = cfg?["meta"]?["ui"]?["view"]?.DeepClone() };
                AddVirtualProperties(type, cfg, properties);
                list.Add(Entity(name, $"{numeric}_{channel}:{type}", type, numeric, properties));
            }
        }
        return list;
    }

    /// <summary>The entity with this id among the devices, with its device.</summary>
    public static (JsonObject Entity, DeviceState Device)? Find(IDeviceStore devices, string entityId)
    {
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(entityId);
        var underscore = entityId.LastIndexOf('_');
        if (underscore <= 0 || FmFrames.Resolve(devices, entityId[..underscore]) is not { } d)
        {
            return null;
        }
        return Of(d).FirstOrDefault(e => e["id"]!.GetValue<string>() == entityId) is { } entity ? (entity, d) : null;
    }

    /// <summary>The status key of an entity (<c>switch:0</c>).</summary>
    public static string StatusKey(JsonObject entity) => $"{entity["type"]}:{entity["properties"]?["id"]}";

    /// <summary>The entity a component event (<c>input:0</c> single_push) belongs to, as FM forwards it.</summary>
    public static JsonObject? ForComponent(DeviceState d, string component) =>
        Of(d).FirstOrDefault(e => StatusKey(e) == component);

    private static JsonObject Entity(string name, string id, string type, string source, JsonObject properties) =>
        new() { ["name"] = name, ["id"] = id, ["type"] = type, ["source"] = source, ["properties"] = properties };

    private static int Channel(string key, JsonNode? status) =>
        status?["id"] is JsonValue v && v.TryGetValue<int>(out var id) ? id
        : int.TryParse(key.AsSpan(key.IndexOf(':', StringComparison.Ordinal) + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;

    // FM: "<n>) Output <device>" with several switches, else the device's name; likewise Temperature, Light, Energy Meter.
    private static string DefaultName(string type, string? title, int? channel, string device)
    {
        var prefix = channel is { } c ? $"{c}) " : "";
        return (type, title) switch
        {
            ("switch", _) => channel is null ? device : $"{prefix}Output {device}",
            ("temperature", _) => channel is null ? device : $"{prefix}Temperature {device}",
            ("light", _) => channel is null ? device : $"{prefix}Light {device}",
            ("em1", _) => channel is null ? device : $"{prefix}Energy Meter {device}",
            _ => $"{prefix}{title ?? type} {device}",
        };
    }

    private static string VirtualTitle(string type) => type switch
    {
        "bthomesensor" => "BLU Sensor",
        _ => char.ToUpperInvariant(type[0]) + type[1..],
    };

    private static void AddVirtualProperties(string type, JsonObject? cfg, JsonObject properties)
    {
        var ui = cfg?["meta"]?["ui"];
        switch (type)
        {
            case "boolean":
                properties["labelFalse"] = ui?["titles"]?[0]?.ToString() is { Length: > 0 } f ? f : "Off";
                properties["labelTrue"] = ui?["titles"]?[1]?.ToString() is { Length: > 0 } t ? t : "On";
                break;
            case "number":
                properties["unit"] = ui?["unit"]?.DeepClone();
                properties["min"] = cfg?["min"]?.DeepClone();
                properties["max"] = cfg?["max"]?.DeepClone();
                properties["step"] = ui?["step"]?.DeepClone() ?? 1;
                break;
            case "text":
                properties["maxLength"] = cfg?["max_len"]?.DeepClone();
                break;
            case "enum":
                var options = new JsonObject();
                foreach (var value in (cfg?["options"] as JsonArray ?? []).Select(o => o?.ToString() ?? ""))
                {
                    options[value] = ui?["titles"]?[value]?.ToString() is { Length: > 0 } label ? label : value;
                }
                properties["options"] = options;
                break;
        }
    }

    // FM: sys.ui_data.cover (channel 0) or coverN — comma-separated favourite positions 0…100, sorted, unique.
    private static JsonArray Favorites(JsonObject? config, int channel)
    {
        var text = config?["sys"]?["ui_data"]?[channel == 0 ? "cover" : $"cover{channel}"]?.ToString() ?? "";
        var values = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : -1)
            .Where(v => v is >= 0 and <= 100).Distinct().Order();
        return new JsonArray(values.Select(v => (JsonNode?)v).ToArray());
    }
}
