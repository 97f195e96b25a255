using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>
/// The typed editor hints of a node type, read from its descriptor JSON (<see cref="NodeDescriptor.ToJson"/>). Everything the
/// editor does differently per node type — the canvas button, the rule-list editors, outputs that follow a property, field
/// editors, labels — goes through here, never through the type's name, so a plugin's type is edited like a built-in.
/// </summary>
public static class DescriptorHints
{
    // Label functions are code, not JSON: they travel with the descriptor JSON object the editor built for the type.
    private static readonly ConditionalWeakTable<JsonObject, Func<JsonObject, string?>> s_labels = [];

    /// <summary>The descriptor JSON the editor works with, carrying the type's label function.</summary>
    public static JsonObject ToJson(NodeDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        var json = descriptor.ToJson();
        if (descriptor.Label is { } label)
        {
            s_labels.AddOrUpdate(json, label);
        }
        return json;
    }

    /// <summary>The type's own label for an unnamed node; null when it has none (or its label function fails).</summary>
    public static string? Label(JsonObject? descriptor, JsonObject node)
    {
        if (descriptor is null || !s_labels.TryGetValue(descriptor, out var label))
        {
            return null;
        }
        try
        {
            return label(node);
        }
#pragma warning disable CA1031 // A plugin's label function must not break the canvas: the node falls back to its plain label.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    public static NodeButton Button(JsonObject? descriptor) => descriptor?["button"] is JsonObject b
        && Enum.TryParse<NodeButtonKind>(Text(b["kind"]), ignoreCase: true, out var kind) && kind != NodeButtonKind.None
        && (kind != NodeButtonKind.Toggle || Text(b["property"]) is { Length: > 0 })
            ? new NodeButton(kind, Text(b["property"]))
            : NodeButton.None;

    /// <summary>A property's editor; an unknown name is edited as text.</summary>
    public static PropertyUi Ui(JsonObject spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Enum.TryParse<PropertyUi>(Text(spec["ui"]), ignoreCase: true, out var ui) && Enum.IsDefined(ui) ? ui : PropertyUi.Text;
    }

    /// <summary>The row shape of a rule-list property (<see cref="RuleList.None"/> when it is not one).</summary>
    public static RuleList Rules(JsonObject spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Enum.TryParse<RuleList>(Text(spec["rules"]), ignoreCase: true, out var rules) && Enum.IsDefined(rules) ? rules : RuleList.None;
    }

    /// <summary>The node property that holds the node's output count, when the type's count varies per node.</summary>
    public static string? OutputsProperty(JsonObject? descriptor) => Text(descriptor?["outputsProperty"]) is { Length: > 0 } p ? p : null;

    /// <summary>Whether a property's rules each get an output (switch): editing the list keeps the outputs property in step.</summary>
    public static bool OutputPerRule(JsonObject spec) => spec?["outputPerRule"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    /// <summary>
    /// The output count an edited node asks for: one per rule of an output-per-rule list, else the outputs property's value;
    /// null when the type's count is fixed.
    /// </summary>
    public static int? Outputs(JsonObject? descriptor, JsonObject node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (OutputsProperty(descriptor) is not { } property)
        {
            return null;
        }
        foreach (var (name, spec) in descriptor!["defaults"] as JsonObject ?? [])
        {
            if (spec is JsonObject s && OutputPerRule(s) && node[name] is JsonArray rules)
            {
                return rules.Count;
            }
        }
        return node[property] is JsonValue v ? Math.Max(0, (int)FlowWorkspace.Num(v)) : null;
    }

    private static string? Text(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
