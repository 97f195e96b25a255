using System.Globalization;
using System.Text.Json.Nodes;

namespace FlowFleet.Nodes.Core.Common;

/// <summary>Reading node properties the way Node-RED's label functions do (missing is "", numbers kept as text).</summary>
internal static class NodeLabelText
{
    public static string S(JsonObject node, string name) => node[name] is JsonValue v ? v.ToString() : "";

    public static double Num(JsonNode? n) => n is not JsonValue v ? 0
        : v.TryGetValue<double>(out var d) ? d
        : v.TryGetValue<long>(out var l) ? l
        : v.TryGetValue<int>(out var i) ? i
        : v.TryGetValue<string>(out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed
        : 0;
}
