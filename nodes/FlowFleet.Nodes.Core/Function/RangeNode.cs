using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>Node-RED's range: maps a number from one range to another (scale, clamp or roll).</summary>
[NodeType("range", Category = "function", Color = "#e2d96e", Icon = "straighten",
    Help = "Maps `msg.payload` linearly from [minin, maxin] to [minout, maxout]. `action`: scale (may go beyond), clamp (limit to the target range), roll (wrap around). `round` rounds to an integer. drop (discard values outside the input range). Non-numeric values are logged and dropped.")]
public sealed class RangeNode : FlowNode<RangeConfig>
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var path = PropertyPath.Parse(string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property);
        if (!path.TryGet(msg.Data, out var raw))
        {
            Node.Send(msg);
            return ValueTask.CompletedTask;
        }
        var n = JsonTools.ToNumber(raw);
        if (double.IsNaN(n))
        {
            // Node-RED only logs this and sends nothing.
            Node.Log("Payload is not a number: " + JsonTools.ToJsString(raw));
            return ValueTask.CompletedTask;
        }
        var (minIn, maxIn, minOut, maxOut) = (Config.Minin, Config.Maxin, Config.Minout, Config.Maxout);
        switch (Config.Action)
        {
            case "drop" when n < minIn || n > maxIn:
                return ValueTask.CompletedTask;
            case "clamp":
                n = Math.Clamp(n, Math.Min(minIn, maxIn), Math.Max(minIn, maxIn));
                break;
            case "roll":
                var span = maxIn - minIn;
                if (span != 0)
                {
                    n = ((((n - minIn) % span) + span) % span) + minIn;
                }
                break;
        }
        var result = maxIn == minIn ? minOut : ((n - minIn) / (maxIn - minIn) * (maxOut - minOut)) + minOut;
        if (Config.Round)
        {
            // JavaScript's Math.round: halves go up (-2.5 -> -2).
            result = Math.Floor(result + 0.5);
        }
        path.Set(msg.Data, JsonTools.Number(result));
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}

public sealed class RangeConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"scale\"", UiHint = PropertyUi.Select, Options = ["scale:Scale the message property", "clamp:Scale and limit to the target range", "roll:Scale and wrap within the target range", "drop:Scale, but drop if outside input range"], Label = "Action")]
    public string? Action { get; set; } = "scale";

    [NodeProperty(Default = "\"payload\"", Label = "Property")]
    public string? Property { get; set; } = "payload";

    [NodeProperty(Default = "0", UiHint = PropertyUi.Number, Label = "Input from", Required = true)]
    public double Minin { get; set; }

    [NodeProperty(Default = "100", UiHint = PropertyUi.Number, Label = "Input to", Required = true)]
    public double Maxin { get; set; } = 100;

    [NodeProperty(Default = "0", UiHint = PropertyUi.Number, Label = "Output from", Required = true)]
    public double Minout { get; set; }

    [NodeProperty(Default = "1", UiHint = PropertyUi.Number, Label = "Output to", Required = true)]
    public double Maxout { get; set; } = 1;

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Round to the nearest integer")]
    public bool Round { get; set; }
}
