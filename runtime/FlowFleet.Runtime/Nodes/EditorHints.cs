using System.Reflection;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Nodes;

/// <summary>
/// How the editor edits one property. The editor's form picks its field from this value alone, so a plugin's property gets
/// the same field as a built-in's. In the descriptor JSON it is the lower-case name (<c>"ui": "number"</c>).
/// </summary>
public enum PropertyUi
{
    Text,
    Number,
    Select,
    Checkbox,
    Typed,
    Json,
    Code,
    Multiline,
    Cron,
    Config,

    /// <summary>A list of rules edited row by row; <see cref="RuleList"/> says which rule shape.</summary>
    Rules,

    /// <summary>Stored and round-tripped, never shown.</summary>
    Hidden,
}

/// <summary>The row shape of a <see cref="PropertyUi.Rules"/> property (Node-RED's editable lists).</summary>
public enum RuleList
{
    None,

    /// <summary>Switch-style tests: an operator (<c>t</c>) and a typed value (<c>v</c>/<c>vt</c>).</summary>
    Switch,

    /// <summary>Change-style operations: set/change/delete/move a property (<c>t, p, pt, to, tot, from</c>).</summary>
    Change,

    /// <summary>Inject-style message properties: a name (<c>p</c>) and a typed value (<c>v</c>/<c>vt</c>).</summary>
    Props,
}

/// <summary>What the button drawn beside a node on the canvas does.</summary>
public enum NodeButtonKind
{
    None,

    /// <summary>Triggers the running node once (inject's button, <c>POST /inject/:id</c>); the node implements <see cref="IInjectable"/>.</summary>
    Trigger,

    /// <summary>Turns a boolean property on and off (debug's button), also on the running node when it implements <see cref="IToggleable"/>.</summary>
    Toggle,
}

/// <summary>A node type's canvas button; <paramref name="Property"/> is the boolean a <see cref="NodeButtonKind.Toggle"/> flips.</summary>
public sealed record NodeButton(NodeButtonKind Kind, string? Property = null)
{
    public static readonly NodeButton None = new(NodeButtonKind.None);
}

/// <summary>A running node whose on/off state the editor's toggle button sets without a deploy (debug's output switch).</summary>
public interface IToggleable
{
    bool Active { get; set; }
}

/// <summary>A node type that labels its unnamed nodes from their properties, as Node-RED's <c>label</c> functions do
/// (inject shows its payload, debug the property it shows).</summary>
public interface INodeLabel
{
    /// <summary>The label of an unnamed node, or null to fall back to the label property or the palette label.</summary>
    static abstract string? Label(JsonObject node);
}

/// <summary>Turns the hints' JSON names (attributes, plugin manifests) into the typed values, refusing unknown names.</summary>
public static class EditorHints
{
    /// <summary>The JSON name of a hint value: its lower-case enum name.</summary>
    public static string Name<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    /// <exception cref="InvalidOperationException">The name is not a value of <typeparamref name="T"/>.</exception>
    public static T Parse<T>(string? name, T fallback, string what) where T : struct, Enum
    {
        if (string.IsNullOrEmpty(name))
        {
            return fallback;
        }
        if (!Enum.TryParse<T>(name, ignoreCase: true, out var value) || !Enum.IsDefined(value) || int.TryParse(name, out _))
        {
            throw new InvalidOperationException(
                $"{what}: '{name}' is not one of {string.Join(", ", Enum.GetValues<T>().Select(Name))}");
        }
        return value;
    }

    /// <summary>A property's editor from its attribute: a rule list declares its shape, anything else names a <see cref="PropertyUi"/>.</summary>
    /// <exception cref="InvalidOperationException">An unknown hint, or a rules editor without its row shape.</exception>
    public static PropertyUi Ui(string? hint, RuleList rules, string where) => Ui(Parse(hint, PropertyUi.Text, where + " UI hint"), rules, where);

    /// <summary>A property's editor from its attribute's typed hint: a rule list declares its shape.</summary>
    /// <exception cref="InvalidOperationException">A value that is not a <see cref="PropertyUi"/>, or a rules editor without its row shape.</exception>
    public static PropertyUi Ui(PropertyUi ui, RuleList rules, string where)
    {
        if (!Enum.IsDefined(ui))
        {
            throw new InvalidOperationException($"{where} UI hint: '{(int)ui}' is not one of {string.Join(", ", Enum.GetValues<PropertyUi>().Select(Name))}");
        }
        if (rules != RuleList.None)
        {
            // The attribute's default hint is text; any other hint beside a rule list is a contradiction.
            return ui is PropertyUi.Text or PropertyUi.Rules ? PropertyUi.Rules
                : throw new InvalidOperationException($"{where}: a rule list is edited as rules, not {Name(ui)}");
        }
        return ui == PropertyUi.Rules
            ? throw new InvalidOperationException($"{where}: a rules editor needs its row shape (Rules = RuleList.Switch, Change or Props)")
            : ui;
    }

    /// <exception cref="InvalidOperationException">A toggle without the property it flips.</exception>
    public static NodeButton Button(NodeButtonKind kind, string? property, string type) => kind switch
    {
        NodeButtonKind.None => NodeButton.None,
        NodeButtonKind.Toggle when string.IsNullOrEmpty(property) => throw new InvalidOperationException($"Node type '{type}': a toggle button needs the property it flips"),
        _ => new NodeButton(kind, kind == NodeButtonKind.Toggle ? property : null),
    };

    /// <summary>The node class's <see cref="INodeLabel.Label"/>, when it has one.</summary>
    public static Func<JsonObject, string?>? LabelFunction(Type nodeType)
    {
        ArgumentNullException.ThrowIfNull(nodeType);
        return typeof(INodeLabel).IsAssignableFrom(nodeType)
            ? nodeType.GetMethod(nameof(INodeLabel.Label), BindingFlags.Public | BindingFlags.Static, [typeof(JsonObject)])?.CreateDelegate<Func<JsonObject, string?>>()
            : null;
    }

    /// <summary>Checks that the hints of a descriptor agree with each other; returns it.</summary>
    /// <exception cref="InvalidOperationException">One output per rule without an outputs property to keep the count in, or on a non-rules property.</exception>
    public static NodeDescriptor Checked(NodeDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        foreach (var p in descriptor.Properties.Where(p => p.OutputPerRule))
        {
            if (p.Ui != PropertyUi.Rules)
            {
                throw new InvalidOperationException($"Node type '{descriptor.Type}': '{p.Name}' has one output per rule but is not a rule list");
            }
            if (descriptor.OutputsProperty is null)
            {
                throw new InvalidOperationException($"Node type '{descriptor.Type}': '{p.Name}' has one output per rule, so the type needs an outputs property");
            }
        }
        return descriptor;
    }
}
