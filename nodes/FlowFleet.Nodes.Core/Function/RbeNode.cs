using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>Node-RED's filter (type key <c>rbe</c>): report by exception, deadband and narrowband, per topic.</summary>
[NodeType("rbe", Category = "function", PaletteLabel = "filter", Color = "#e2d96e", Icon = "filter_alt",
    Help = """
    Passes a message on only when `property` changed. `func`: **rbe** block unless the value changes, **rbei** the same but
    the first value is also blocked, **deadband**/**deadbandEq** block unless the value moved more than (or at least) `gap`
    from the last value sent (`inout: out`) or received (`inout: in`), **narrowband**/**narrowbandEq** block values further
    than `gap` away (from `start` for the first). `gap` may end with `%`. Each `topi` value is tracked apart when `septopics`;
    `msg.reset` forgets the previous value.
    """)]
public sealed class RbeNode : FlowNode<RbeConfig>
{
    private readonly Dictionary<string, JsonNode?> _previous = new(StringComparer.Ordinal);

    public override bool RunsInline => true;

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var func = string.IsNullOrEmpty(Config.Func) ? "rbe" : Config.Func;
        var topic = PropertyPath.Parse(string.IsNullOrEmpty(Config.Topi) ? "topic" : Config.Topi).Get(msg.Data);
        if (msg.Data.ContainsKey("reset"))
        {
            if (Config.Septopics && JsonTools.IsString(topic, out var ts) && ts.Length > 0)
            {
                // Node-RED forgets msg.topic here, whatever topi names.
                _previous.Remove(msg.Data["topic"] is { } mt ? JsonTools.ToJsString(mt) : "undefined");
            }
            else
            {
                _previous.Clear();
            }
        }
        if (!PropertyPath.Parse(string.IsNullOrEmpty(Config.Property) ? "payload" : Config.Property).TryGet(msg.Data, out var value))
        {
            return ValueTask.CompletedTask;
        }
        var t = Config.Septopics && JsonTools.IsTruthy(topic) ? JsonTools.ToJsString(topic) : "_no_topic";
        if (func is "rbe" or "rbei")
        {
            var doSend = func != "rbei" || _previous.ContainsKey(t);
            if (value is JsonObject or JsonArray)
            {
                var prev = _previous.GetValueOrDefault(t);
                if (prev is not JsonObject and not JsonArray)
                {
                    _previous[t] = prev = new JsonObject();
                }
                if (!JsValues.DeepEquals(value, prev))
                {
                    _previous[t] = JsonDepth.Clone(value);
                    Send(msg, doSend);
                }
            }
            else if (!_previous.TryGetValue(t, out var prev) || !JsValues.StrictEquals(value, prev))
            {
                _previous[t] = JsonDepth.Clone(value);
                Send(msg, doSend);
            }
            return ValueTask.CompletedTask;
        }
        Band(msg, func, t, value);
        return ValueTask.CompletedTask;
    }

    private void Band(FlowMessage msg, string func, string t, JsonNode? value)
    {
        var n = JsValues.ParseFloat(value);
        if (double.IsNaN(n))
        {
            Node.Warn("no number found in payload");
            return;
        }
        var gapText = string.IsNullOrEmpty(Config.Gap) ? "0" : Config.Gap;
        var percent = gapText.EndsWith('%');
        double? prev = _previous.TryGetValue(t, out var p) ? JsonTools.ToNumber(p) : null;
        if (prev is null && func is "narrowband" or "narrowbandEq")
        {
            prev = string.IsNullOrEmpty(Config.Start) ? n : JsonTools.StringToNumber(Config.Start);
        }
        var gap = percent ? Math.Abs((prev ?? double.NaN) * JsValues.ParseFloat(JsonValue.Create(gapText)) / 100) is var g && !double.IsNaN(g) ? g : 0
            : JsonTools.StringToNumber(gapText);
        prev ??= n - gap - 1;
        var diff = Math.Abs(n - prev.Value);
        var send = diff == gap ? func is "deadbandEq" or "narrowband"
            : diff > gap ? func is "deadband" or "deadbandEq"
            : diff < gap && func is "narrowband" or "narrowbandEq";
        // Node-RED moves the reference on a send for "out", on every value for "in", and never for anything else.
        var inout = string.IsNullOrEmpty(Config.Inout) ? "out" : Config.Inout;
        if ((send && inout == "out") || inout == "in")
        {
            prev = n;
        }
        _previous[t] = JsonTools.Number(prev.Value);
        if (send)
        {
            Node.Send(msg);
        }
    }

    private void Send(FlowMessage msg, bool doSend)
    {
        if (doSend)
        {
            Node.Send(msg);
        }
    }
}

public sealed class RbeConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"rbe\"", UiHint = PropertyUi.Select, Label = "Mode", Options = [
        "rbe:block unless value changes", "rbei:block unless value changes (ignore initial value)",
        "deadband:block unless value change is greater than", "deadbandEq:block unless value change is greater or equal to",
        "narrowband:block if value change is greater than", "narrowbandEq:block if value change is greater or equal to"])]
    public string? Func { get; set; } = "rbe";

    [NodeProperty(Default = "\"\"", Label = "Value change (number, or % of last value)")]
    public string? Gap { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Start value (narrowband)")]
    public string? Start { get; set; }

    [NodeProperty(Default = "\"out\"", UiHint = PropertyUi.Select, Options = ["out:compared to last valid output value", "in:compared to last input value"], Label = "Compare")]
    public string? Inout { get; set; } = "out";

    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "Apply mode separately for each topic")]
    public bool Septopics { get; set; } = true;

    [NodeProperty(Default = "\"payload\"", Required = true, Label = "Property")]
    public string? Property { get; set; } = "payload";

    [NodeProperty(Default = "\"topic\"", Required = true, Label = "Topic property")]
    public string? Topi { get; set; } = "topic";
}
