namespace FlowFleet.Runtime.Nodes;

/// <summary>
/// Declares a property of a node's config record: its JSON name, default, and how the editor edits it.
/// <see cref="UiHint"/> is the <see cref="PropertyUi"/> the editor uses (its lower-case name is what descriptor JSON and
/// plugin manifests carry). A rule list is declared with <see cref="Rules"/>, which implies the rules editor.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = true)]
public sealed class NodePropertyAttribute : Attribute
{
    /// <summary>Default value as JSON text (<c>"\"\""</c>, <c>"0"</c>, <c>"[]"</c>); null means no default.</summary>
    public string? Default { get; init; }

    public bool Required { get; init; }

    public PropertyUi UiHint { get; init; } = PropertyUi.Text;

    /// <summary>A list of rules edited row by row, in this shape (switch tests, change operations, inject properties).</summary>
    public RuleList Rules { get; init; }

    /// <summary>For a rule list: the node has one output per rule (switch), kept in the type's <c>OutputsProperty</c>.</summary>
    public bool OutputPerRule { get; init; }

    public string? Label { get; init; }

    /// <summary>Options for <c>select</c> (<c>"value"</c> or <c>"value:Label"</c>).</summary>
    public string[] Options { get; init; } = [];

    /// <summary>For <c>typed</c>: the sibling property that holds the type (<c>payloadType</c>).</summary>
    public string? TypeProperty { get; init; }

    /// <summary>For <c>typed</c>: the types offered (<c>msg, flow, global, str, num, ...</c>).</summary>
    public string[] Types { get; init; } = [];

    /// <summary>For <c>config</c>: the config node type referenced.</summary>
    public string? ConfigType { get; init; }

    /// <summary>For <c>code</c>: the language (javascript, html, json, mustache).</summary>
    public string? Language { get; init; }

    /// <summary>A credential: stored encrypted beside the flows, never in them.</summary>
    public bool Secret { get; init; }

    public string? Help { get; init; }
}
