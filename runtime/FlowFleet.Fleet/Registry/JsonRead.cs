using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// Reads values out of JSON a device sent without trusting its shape: a device may put a string, an array or nothing where a
/// number or an object is expected, and every reader of device state (API projections, telemetry, the dashboard, fleet nodes)
/// must then see "no value" rather than throw. <c>node["x"]</c> throws on an array or a value; <c>GetValue&lt;T&gt;</c>
/// throws on the wrong kind — neither is used on device data.
/// </summary>
public static class JsonRead
{
    /// <summary>The member <paramref name="key"/> when <paramref name="node"/> is an object; null otherwise.</summary>
    public static JsonNode? Field(this JsonNode? node, string key) =>
        node is JsonObject o && o.TryGetPropertyValue(key, out var value) ? value : null;

    /// <summary>The member as an object, or null.</summary>
    public static JsonObject? Object(this JsonNode? node, string key) => node.Field(key) as JsonObject;

    /// <summary>A finite JSON number, or null (strings, booleans, objects, arrays and 1e400 are not numbers).</summary>
    public static double? Number(JsonNode? node)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number)
        {
            return null;
        }
        // Values built in code (JsonValue.Create(5L)) only convert to their own type: read the number's text instead.
        var d = v.TryGetValue<double>(out var direct) ? direct
            : double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : double.NaN;
        return double.IsFinite(d) ? d : null;
    }

    /// <summary>A JSON string, or null (a lone surrogate escape is not a readable string either).</summary>
    public static string? Text(JsonNode? node)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
        {
            return null;
        }
        try
        {
            return v.TryGetValue<string>(out var s) ? s : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A JSON boolean, or null.</summary>
    public static bool? Bool(JsonNode? node) => node is JsonValue v
        ? v.GetValueKind() switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => null }
        : null;

    /// <summary>The strings of an array (other items skipped); empty when it is not an array.</summary>
    public static string[] Strings(JsonNode? node) => node is JsonArray a ? a.Select(Text).OfType<string>().ToArray() : [];
}
