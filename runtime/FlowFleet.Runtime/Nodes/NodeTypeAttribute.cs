namespace FlowFleet.Runtime.Nodes;

/// <summary>Declares a class deriving from <see cref="FlowNode"/> as a node type.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class NodeTypeAttribute(string type) : Attribute
{
    /// <summary>The type key used in flow JSON (<c>"switch"</c>, <c>"shelly in"</c>).</summary>
    public string Type { get; } = type;

    /// <summary>Palette category: common, function, network, sequence, parser, storage, fleet, config...</summary>
    public string Category { get; init; } = "function";

    public int Inputs { get; init; } = 1;

    public int Outputs { get; init; } = 1;

    /// <summary>Background colour of the node on the canvas (CSS colour).</summary>
    public string Color { get; init; } = "#e9e9e9";

    /// <summary>An icon name (Material icon name or a file under the editor's icons).</summary>
    public string Icon { get; init; } = "arrow-right";

    /// <summary>Label in the palette; the type key when empty.</summary>
    public string? PaletteLabel { get; init; }

    /// <summary>Property whose value labels the node on the canvas when its name is empty.</summary>
    public string? LabelProperty { get; init; }

    /// <summary>Short help shown in the editor's help tab (Markdown).</summary>
    public string? Help { get; init; }

    /// <summary>Other type keys that build this node (e.g. <c>"script"</c> for <c>"function"</c>).</summary>
    public string[] Aliases { get; init; } = [];

    /// <summary>The property (in the config JSON) holding the number of outputs when it varies per node: edited as a number
    /// (function), or kept equal to the length of a rule list declared with <see cref="NodePropertyAttribute.OutputPerRule"/> (switch).</summary>
    public string? OutputsProperty { get; init; }

    /// <summary>Names of the input/output port labels.</summary>
    public string[] OutputLabels { get; init; } = [];

    /// <summary>The button drawn beside the node on the canvas: trigger it (inject) or toggle <see cref="ButtonProperty"/> (debug).</summary>
    public NodeButtonKind Button { get; init; }

    /// <summary>For a <see cref="NodeButtonKind.Toggle"/> button: the boolean property it flips (<c>active</c>).</summary>
    public string? ButtonProperty { get; init; }

    /// <summary>Alignment of the icon on the canvas: left for sources, right for sinks.</summary>
    public string Align { get; init; } = "left";
}
