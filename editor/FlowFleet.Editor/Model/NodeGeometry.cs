using System.Globalization;
using System.Text.Json.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>
/// Node sizes, port positions, labels and wire curves, computed the way Node-RED's editor does (view.js), so a flow drawn in
/// Node-RED looks the same here. A node's <c>x</c>/<c>y</c> is its centre. canvas.js uses the same rules while dragging.
/// </summary>
public static class NodeGeometry
{
    public const double Grid = 20;
    public const double MinWidth = 100;
    public const double BaseHeight = 30;
    public const double PortSpacing = 13;

    /// <summary>Labels are 14 px "Helvetica Neue", Arial (Node-RED's font); these are the Helvetica/Arial advance widths
    /// (1/1000 em) of ASCII 32..126. Node-RED measures the label in the DOM; the server cannot, and these metrics agree with
    /// Arial/Liberation Sans to the pixel for ASCII text.</summary>
    private static readonly short[] s_advance =
    [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space ! " # $ % & ' ( ) * + , - . /
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0-9 : ; < = > ?
        1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @ A-O
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P-Z [ \ ] ^ _
        333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // ` a-o
        556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,      // p-z { | } ~
    ];

    public const string LabelFont = "\"Helvetica Neue\", Arial, Helvetica, sans-serif";

    public static string Label(JsonObject node, JsonObject? descriptor)
    {
        if (node["name"] is JsonValue n && n.TryGetValue<string>(out var name) && name.Length > 0)
        {
            return name;
        }
        if (DescriptorHints.Label(descriptor, node) is { Length: > 0 } own)
        {
            return own;
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

    /// <summary>Input ports; a type with an <c>inputs</c> property (mqtt in: dynamic subscriptions) takes the node's own, as Node-RED does.</summary>
    public static int Inputs(JsonObject node, JsonObject? descriptor) =>
        descriptor is null ? 1
        : descriptor["defaults"] is JsonObject d && d.ContainsKey("inputs") && node["inputs"] is JsonValue own ? Math.Min(1, (int)FlowWorkspace.Num(own))
        : (int)FlowWorkspace.Num(descriptor["inputs"]);

    /// <summary>The label's width in pixels at 14 px, rounded as the DOM's offsetWidth is.</summary>
    public static double TextWidth(string text)
    {
        var units = 0;
        foreach (var c in text)
        {
            units += c is >= ' ' and <= '~' ? s_advance[c - ' '] : 556;
        }
        return Math.Round(units * 14 / 1000.0);
    }

    /// <summary>Node-RED: <c>max(100, 20 * ceil((labelWidth + 50 + (inputs ? 7 : 0)) / 20))</c>.</summary>
    public static double Width(string label, int inputs) => Math.Max(MinWidth, Grid * Math.Ceiling((TextWidth(label) + 50 + (inputs > 0 ? 7 : 0)) / Grid));

    /// <summary>Node-RED: <c>max(30, outputs * 15)</c> for a one-line label.</summary>
    public static double Height(int outputs) => Math.Max(BaseHeight, outputs * 15);

    /// <summary>An output port's centre relative to the node's centre (Node-RED spaces ports 13 px apart around the middle).</summary>
    public static double PortY(int port, int outputs) => -((outputs - 1) / 2.0) * PortSpacing + PortSpacing * port;

    /// <summary>Nodes with an input and no outputs (debug, http response) draw their icon and label on the right, as in Node-RED.</summary>
    public static bool AlignRight(int inputs, int outputs) => inputs > 0 && outputs == 0;

    /// <summary>Node-RED snaps the nearer of a node's left or right edge to the grid (ties: the right edge) and its centre line.</summary>
    public static double SnapX(double x, double width)
    {
        var left = x - (Grid * Math.Round((x - width / 2) / Grid) + width / 2);
        var right = x - (Grid * Math.Round((x + width / 2) / Grid) - width / 2);
        return x - (Math.Abs(left) < Math.Abs(right) ? left : right);
    }

    public static double SnapY(double y) => Grid * Math.Round(y / Grid);

    /// <summary>Node-RED's link curve (generateLinkPath, forward case) from an output port to an input port; canvas.js has the same.</summary>
    public static string WirePath(double ox, double oy, double dx, double dy)
    {
        var ddx = dx - ox;
        var ddy = dy - oy;
        var delta = Math.Sqrt(ddx * ddx + ddy * ddy);
        var scale = 0.75;
        if (ddx > 0)
        {
            if (delta < MinWidth)
            {
                scale = 0.75 - 0.75 * ((MinWidth - delta) / MinWidth);
            }
        }
        else
        {
            // Backward wires: Node-RED loops below the nodes; a wider S-curve keeps them readable here.
            scale = 0.4 - 0.2 * Math.Max(0, (MinWidth - Math.Min(Math.Abs(ddx), Math.Abs(ddy))) / MinWidth);
            scale *= 2;
        }
        var c = MinWidth * scale;
        return string.Create(CultureInfo.InvariantCulture, $"M {R(ox)} {R(oy)} C {R(ox + c)} {R(oy)} {R(dx - c)} {R(dy)} {R(dx)} {R(dy)}");
    }

    private static double R(double v) => Math.Round(v, 2);

    public static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
}
