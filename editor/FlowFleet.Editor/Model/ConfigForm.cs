using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>The kind of form field a component config value gets.</summary>
public enum ConfigFieldKind
{
    Bool,
    Number,
    Text,

    /// <summary>Objects, arrays and null: edited as JSON text in their own field.</summary>
    Json,
}

/// <summary>One field of a component's config form, holding what the user typed.</summary>
public sealed class ConfigField(string key, ConfigFieldKind kind, JsonNode? original)
{
    public string Key { get; } = key;

    public ConfigFieldKind Kind { get; } = kind;

    public JsonNode? Original { get; } = original;

    public bool Flag { get; set; }

    public string Text { get; set; } = "";

    /// <summary>The value the field now holds, typed as the device sent it.</summary>
    public JsonNode? Value() => Kind switch
    {
        ConfigFieldKind.Bool => JsonValue.Create(Flag),
        ConfigFieldKind.Number => double.TryParse(Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? (d == Math.Floor(d) && Math.Abs(d) < 1e15 ? JsonValue.Create((long)d) : JsonValue.Create(d))
            : throw new FormatException($"{Key}: '{Text}' is not a number"),
        ConfigFieldKind.Text => JsonValue.Create(Text),
        _ => ParseJson(),
    };

    private JsonNode? ParseJson()
    {
        try
        {
            return JsonNode.Parse(string.IsNullOrWhiteSpace(Text) ? "null" : Text);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{Key}: not JSON ({ex.Message})");
        }
    }
}

/// <summary>
/// A component's config (<c>Switch.GetConfig</c> and the like) as typed fields — switches for booleans, number and text
/// fields, JSON text for nested values — and back to the <c>SetConfig</c> patch holding only what changed. The component's
/// own <c>id</c> is not editable: it addresses the component.
/// </summary>
public sealed class ConfigForm
{
    private ConfigForm(List<ConfigField> fields) => Fields = fields;

    public IReadOnlyList<ConfigField> Fields { get; }

    public static ConfigForm From(JsonObject config)
    {
        var fields = new List<ConfigField>();
        foreach (var (key, value) in config)
        {
            if (key == "id")
            {
                continue;
            }
            var kind = value is JsonValue v ? v.GetValueKind() switch
            {
                JsonValueKind.True or JsonValueKind.False => ConfigFieldKind.Bool,
                JsonValueKind.Number => ConfigFieldKind.Number,
                JsonValueKind.String => ConfigFieldKind.Text,
                _ => ConfigFieldKind.Json,
            } : ConfigFieldKind.Json;
            var field = new ConfigField(key, kind, value?.DeepClone());
            if (kind == ConfigFieldKind.Bool)
            {
                field.Flag = value!.GetValue<bool>();
            }
            else
            {
                field.Text = kind == ConfigFieldKind.Text ? value!.GetValue<string>() : value?.ToJsonString() ?? "null";
            }
            fields.Add(field);
        }
        return new ConfigForm(fields);
    }

    /// <summary>The fields whose value differs from what the device reported; throws <see cref="FormatException"/> naming
    /// the first field that does not parse.</summary>
    public JsonObject Changes()
    {
        var patch = new JsonObject();
        foreach (var f in Fields)
        {
            var value = f.Value();
            if (!JsonNode.DeepEquals(value, f.Original))
            {
                patch[f.Key] = value;
            }
        }
        return patch;
    }
}
