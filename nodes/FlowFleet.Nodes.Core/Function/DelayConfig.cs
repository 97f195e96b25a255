using System.Text.Json.Serialization;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Function;

public sealed class DelayConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"delay\"", UiHint = PropertyUi.Select, Label = "Action",
        Options = ["delay:Fixed delay", "delayv:Override delay with msg.delay", "random:Random delay", "rate:Rate limit all messages",
            "burst:Allow bursts of messages", "queue:Rate limit per topic, one topic per interval", "timed:Rate limit per topic, all topics per interval"])]
    public string? PauseType { get; set; } = "delay";

    [NodeProperty(Default = "\"5\"", UiHint = PropertyUi.Number, Label = "Delay")]
    public double? Timeout { get; set; } = 5;

    [NodeProperty(Default = "\"seconds\"", UiHint = PropertyUi.Select, Options = ["milliseconds", "seconds", "minutes", "hours", "days"], Label = "Delay units")]
    public string? TimeoutUnits { get; set; } = "seconds";

    [NodeProperty(Default = "\"1\"", UiHint = PropertyUi.Number, Label = "Rate")]
    public double? Rate { get; set; } = 1;

    [NodeProperty(Default = "\"1\"", UiHint = PropertyUi.Number, Label = "Per")]
    public double? NbRateUnits { get; set; } = 1;

    [NodeProperty(Default = "\"second\"", UiHint = PropertyUi.Select, Options = ["second", "minute", "hour", "day"], Label = "Rate units")]
    public string? RateUnits { get; set; } = "second";

    [NodeProperty(Default = "\"1\"", UiHint = PropertyUi.Number, Label = "Random from")]
    public double? RandomFirst { get; set; } = 1;

    [NodeProperty(Default = "\"5\"", UiHint = PropertyUi.Number, Label = "Random to")]
    public double? RandomLast { get; set; } = 5;

    [NodeProperty(Default = "\"seconds\"", UiHint = PropertyUi.Select, Options = ["milliseconds", "seconds", "minutes", "hours", "days"], Label = "Random units")]
    public string? RandomUnits { get; set; } = "seconds";

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Drop intermediate messages")]
    public bool Drop { get; set; }

    /// <summary>Rate limits take <c>msg.rate</c> (milliseconds between messages) as the new interval.</summary>
    [JsonPropertyName("allowrate")]
    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Allow msg.rate (in ms) to override rate")]
    public bool AllowRate { get; set; }

    [NodeProperty(Default = "1", UiHint = PropertyUi.Hidden)]
    public int Outputs { get; set; } = 1;
}
