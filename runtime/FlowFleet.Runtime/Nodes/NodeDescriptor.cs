using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Nodes;

/// <summary>One editable property of a node type, as the editor and <c>/red/nodes</c> see it.</summary>
/// <param name="Rules">For <see cref="PropertyUi.Rules"/>: the row shape.</param>
/// <param name="OutputPerRule">The node has one output per rule of this list (switch).</param>
public sealed record PropertyDescriptor(string Name, JsonNode? Default, bool Required, PropertyUi Ui, string? Label,
    IReadOnlyList<string> Options, string? TypeProperty, IReadOnlyList<string> Types, string? ConfigType, string? Language,
    bool Secret, string? Help, RuleList Rules = RuleList.None, bool OutputPerRule = false);

/// <summary>Everything known about a node type: built by reflection from its attributes, or by a plugin loader.</summary>
public sealed record NodeDescriptor
{
    public required string Type { get; init; }

    public required string Category { get; init; }

    public int Inputs { get; init; }

    public int Outputs { get; init; }

    public string Color { get; init; } = "#e9e9e9";

    public string Icon { get; init; } = "arrow-right";

    public string? PaletteLabel { get; init; }

    public string? LabelProperty { get; init; }

    public string? OutputsProperty { get; init; }

    public IReadOnlyList<string> OutputLabels { get; init; } = [];

    public string Align { get; init; } = "left";

    /// <summary>The button beside the node on the canvas.</summary>
    public NodeButton Button { get; init; } = NodeButton.None;

    /// <summary>The label of a node without a name, computed from its properties (Node-RED's <c>label</c> function); null
    /// labels it by <see cref="LabelProperty"/> or the palette label. Editor-side only: not in the JSON.</summary>
    public Func<JsonObject, string?>? Label { get; init; }

    public string? Help { get; init; }

    /// <summary>A config node (no ports, referenced by id from other nodes).</summary>
    public bool IsConfig => Category == "config";

    /// <summary>Where it comes from: core, fleet, or a plugin's name.</summary>
    public string Module { get; init; } = "core";

    public IReadOnlyList<PropertyDescriptor> Properties { get; init; } = [];

    /// <summary>Builds the running node from its flow JSON.</summary>
    public required Func<NodeFactoryContext, FlowNode> Create { get; init; }

    /// <summary>The descriptor as JSON for the editor (Node-RED's <c>defaults</c> shape plus UI hints).</summary>
    public JsonObject ToJson()
    {
        var defaults = new JsonObject();
        foreach (var p in Properties)
        {
            var d = new JsonObject { ["value"] = p.Default?.DeepClone(), ["required"] = p.Required, ["ui"] = EditorHints.Name(p.Ui) };
            if (p.Rules != RuleList.None)
            {
                d["rules"] = EditorHints.Name(p.Rules);
            }
            if (p.OutputPerRule)
            {
                d["outputPerRule"] = true;
            }
            if (p.Label is not null)
            {
                d["label"] = p.Label;
            }
            if (p.Options.Count > 0)
            {
                d["options"] = new JsonArray(p.Options.Select(o => (JsonNode?)o).ToArray());
            }
            if (p.TypeProperty is not null)
            {
                d["typeProperty"] = p.TypeProperty;
            }
            if (p.Types.Count > 0)
            {
                d["types"] = new JsonArray(p.Types.Select(o => (JsonNode?)o).ToArray());
            }
            if (p.ConfigType is not null)
            {
                d["type"] = p.ConfigType;
            }
            if (p.Language is not null)
            {
                d["language"] = p.Language;
            }
            if (p.Secret)
            {
                d["secret"] = true;
            }
            if (p.Help is not null)
            {
                d["help"] = p.Help;
            }
            defaults[p.Name] = d;
        }
        return new JsonObject
        {
            ["type"] = Type,
            ["category"] = Category,
            ["module"] = Module,
            ["inputs"] = Inputs,
            ["outputs"] = Outputs,
            ["color"] = Color,
            ["icon"] = Icon,
            ["paletteLabel"] = PaletteLabel ?? Type,
            ["labelProperty"] = LabelProperty,
            ["outputsProperty"] = OutputsProperty,
            ["outputLabels"] = new JsonArray(OutputLabels.Select(o => (JsonNode?)o).ToArray()),
            ["align"] = Align,
            ["button"] = Button.Kind == NodeButtonKind.None ? null
                : new JsonObject { ["kind"] = EditorHints.Name(Button.Kind), ["property"] = Button.Property },
            ["help"] = Help,
            ["defaults"] = defaults,
        };
    }
}

/// <summary>What a node factory gets: the node's JSON, its engine host and the services.</summary>
public sealed record NodeFactoryContext(JsonObject Config, INodeHost Host, IServiceProvider Services)
{
    /// <summary>
    /// <see cref="Config"/> as its flow document serialized it, when the node is built from it unchanged (empty otherwise):
    /// a typed config is read from these bytes instead of writing the object out again.
    /// </summary>
    public ReadOnlyMemory<byte> ConfigJson { get; init; }
}
