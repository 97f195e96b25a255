using System.Globalization;
using System.Text.Json.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>Node sizes, port positions and labels; canvas.js uses the same rules while dragging.</summary>
public static class NodeGeometry
{
    public static string Label(JsonObject node, JsonObject? descriptor)
    {
        if (node["name"] is JsonValue n && n.TryGetValue<string>(out var name) && name.Length > 0)
        {
            return name;
        }
        if (descriptor?["labelProperty"] is JsonValue lp && lp.TryGetValue<string>(out var prop) && node[prop] is JsonValue v
            && v.ToString() is { Length: > 0 } text && text != "\"\"")
        {
            return text.Length > 40 ? text[..40] + "…" : text;
        }
        return descriptor?["paletteLabel"]?.GetValue<string>() ?? FlowWorkspace.TypeOf(node);
    }

    public static int Outputs(JsonObject node, JsonObject? descriptor)
    {
        if (node["wires"] is JsonArray wires && wires.Count > 0)
        {
            return wires.Count;
        }
        return (int)FlowWorkspace.Num(descriptor?["outputs"]);
    }

    public static int Inputs(JsonObject node, JsonObject? descriptor) => descriptor is null ? 1 : (int)FlowWorkspace.Num(descriptor["inputs"]);

    public static double Width(string label) => Math.Max(100, Math.Ceiling((label.Length * 7 + 50) / 20.0) * 20);

    public static double Height(int outputs) => outputs <= 1 ? 30 : 20 * (outputs - 1) + 20;

    public static double PortY(int port, int outputs, double height) => outputs <= 1 ? height / 2 : 10 + port * ((height - 20) / Math.Max(1, outputs - 1));

    /// <summary>The same cubic curve canvas.js draws.</summary>
    public static string WirePath(double ax, double ay, double bx, double by)
    {
        var dx = Math.Max(40, Math.Abs(bx - ax) / 2);
        return string.Create(CultureInfo.InvariantCulture, $"M{ax},{ay} C{ax + dx},{ay} {bx - dx},{by} {bx},{by}");
    }

    public static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
}
