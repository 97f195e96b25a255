using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>
/// What makes a node invalid, from its descriptor alone (so plugin types are checked like built-ins): an unknown type, an
/// empty required property, a number field that is not a number, JSON that does not parse, a config reference to a node
/// that is not there. The edit dialog shows these per field; the canvas marks such nodes as Node-RED does (red triangle) and
/// search finds them with <c>is:invalid</c>.
/// </summary>
public static class NodeValidation
{
    /// <summary>Problems keyed by property name ("" for the node as a whole); empty when the node is valid.</summary>
    public static Dictionary<string, string> Problems(JsonObject node, JsonObject? descriptor, Func<string, JsonObject?>? find = null)
    {
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        if (descriptor is null)
        {
            problems[""] = $"'{FlowWorkspace.TypeOf(node)}' is not an installed node type";
            return problems;
        }
        foreach (var (name, value) in descriptor["defaults"] as JsonObject ?? [])
        {
            if (value is not JsonObject spec)
            {
                continue;
            }
            var ui = DescriptorHints.Ui(spec);
            if (ui == PropertyUi.Hidden)
            {
                continue;
            }
            var text = Text(node[name]);
            if (spec["required"]?.GetValue<bool>() == true && string.IsNullOrWhiteSpace(text))
            {
                problems[name] = "required";
            }
            else if (ui == PropertyUi.Number && text.Length > 0 && !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                problems[name] = "must be a number";
            }
            else if (ui == PropertyUi.Json && text.Length > 0 && node[name] is JsonValue && text.TrimStart() is ['{' or '[', ..] && ParseError(text) is { } error)
            {
                problems[name] = "invalid JSON: " + error;
            }
            else if (ui == PropertyUi.Config && text.Length > 0 && find is not null && find(text) is null)
            {
                problems[name] = "the config node it refers to is missing";
            }
        }
        return problems;
    }

    public static bool IsValid(JsonObject node, JsonObject? descriptor, Func<string, JsonObject?>? find = null) => Problems(node, descriptor, find).Count == 0;

    /// <summary>A property's value as the form shows it: strings as they are, anything else as JSON.</summary>
    public static string Text(JsonNode? value) => value switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => value.ToJsonString(),
    };

    private static string? ParseError(string text)
    {
        try
        {
            JsonNode.Parse(text);
            return null;
        }
        catch (JsonException ex)
        {
            return ex.Message.Split('.')[0];
        }
    }
}
