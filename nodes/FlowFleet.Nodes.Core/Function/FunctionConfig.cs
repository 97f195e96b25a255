using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>Node-RED's function node properties.</summary>
public sealed class FunctionConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\\nreturn msg;\"", UiHint = PropertyUi.Code, Language = "javascript", Label = "On Message")]
    public string? Func { get; set; }

    [NodeProperty(Default = "1", UiHint = PropertyUi.Number, Label = "Outputs")]
    public int Outputs { get; set; } = 1;

    [NodeProperty(Default = "0", UiHint = PropertyUi.Number, Label = "Timeout (s)", Help = "0 uses the runtime's limit; a larger value is capped by it.")]
    public double Timeout { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Code, Language = "javascript", Label = "On Start")]
    public string? Initialize { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Code, Language = "javascript", Label = "On Stop")]
    public string? Finalize { get; set; }

    /// <summary>Node-RED's "Setup → Modules": <c>[{var, module}]</c>, each module set as a global of that name.</summary>
    [NodeProperty(Default = "[]", UiHint = PropertyUi.Json, Label = "Modules", Help = "[{\"var\": \"os\", \"module\": \"os\"}]: Node's built-in os and path modules.")]
    public System.Text.Json.Nodes.JsonArray? Libs { get; set; }
}
