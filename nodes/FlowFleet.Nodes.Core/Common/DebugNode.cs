using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Scripting.Jsonata;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Nodes.Core.Common;

/// <summary>Node-RED's debug: shows a message property (or the whole message) in the sidebar, the log and/or the node status.</summary>
[NodeType("debug", Category = "common", Inputs = 1, Outputs = 0, Color = "#87a980", Icon = "bug_report", Align = "right", Button = NodeButtonKind.Toggle, ButtonProperty = "active",
    Help = """
    Shows `msg.payload` (or another property, or the complete message) in the debug sidebar. Can also write it to the
    server log and show it as the node's status. The button on the node turns output on and off.
    """)]
public sealed partial class DebugNode : FlowNode<DebugConfig>, IToggleable, INodeLabel
{
    private volatile bool _active = true;
    private JsonataExpression? _expression;
    private JsonataExpression? _statusExpression;
    private bool _valid = true;

    public DebugNode(DebugConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _active = config.Active;
    }

    /// <summary>Whether messages are shown (the on/off button; <c>POST /debug/:id/enable|disable</c>).</summary>
    public bool Active
    {
        get => _active;
        set
        {
            _active = value;
            Node.Status(value ? NodeStatus.Clear : new NodeStatus("grey", "ring", "off"));
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Output (and status) may be a JSONata expression; Node-RED names the expression, not the error, when it is invalid.
        var output = Config.TargetType == "jsonata" ? Config.Complete ?? "" : null;
        try
        {
            _expression = output is null ? null : JsonataExpression.Prepare(output, Node);
            _statusExpression = Config.StatusType == "jsonata" ? JsonataExpression.Prepare(Config.StatusVal ?? "", Node) : null;
        }
        catch (JsonataException)
        {
            _valid = false;
            Node.Error("Invalid JSONata expression: " + output);
        }
        return Task.CompletedTask;
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (!_active || !_valid)
        {
            return ValueTask.CompletedTask;
        }
        var complete = Config.Complete ?? "payload";
        var whole = _expression is null && (complete is "true" or "" || Config.TargetType == "full");
        JsonNode? value;
        string? property;
        var isNull = false;
        if (_expression is not null)
        {
            // No property in the packet: the sidebar shows the expression's value as it is.
            property = null;
            if (!TryEvaluate(_expression, msg, Config.Complete, out value, out isNull))
            {
                return ValueTask.CompletedTask;
            }
        }
        else if (whole)
        {
            value = msg.Data;
            property = "msg";
        }
        else
        {
            property = complete == "false" ? "payload" : complete;
            // JSON null shows as "null", a missing property as "undefined".
            isNull = PropertyPath.Parse(property).TryGet(msg.Data, out value) && value is null;
        }
        if (Config.Tosidebar)
        {
            Node.Debug(new DebugMessage(Node.Alias, Node.FlowId, Config.Name, msg.Topic, whole || property is null ? null : "msg." + property,
                JsonDepth.Clone(value), Path: Node.FlowId) { IsNull = isNull, TopicValue = JsonDepth.Clone(msg.Data["topic"]) });
        }
        if (Config.Console)
        {
            Node.Logger.LogInformation("[debug:{Name}] {Value}", Node.Name ?? Node.Id, JsonTools.ToJsString(value));
        }
        if (Config.Tostatus)
        {
            var statusValue = value;
            if (_statusExpression is not null)
            {
                if (!TryEvaluate(_statusExpression, msg, Config.Complete, out statusValue, out _))
                {
                    return ValueTask.CompletedTask;
                }
            }
            else if (Config.StatusType == "msg" && !string.IsNullOrEmpty(Config.StatusVal))
            {
                statusValue = PropertyPath.Parse(Config.StatusVal).Get(msg.Data);
            }
            var text = JsonTools.ToJsString(statusValue);
            // Node-RED keeps the first 32 characters (debugStatusLength) and appends "...".
            Node.Status(new NodeStatus("grey", "dot", text.Length > 32 ? text[..32] + "..." : text));
        }
        return ValueTask.CompletedTask;
    }

    private bool TryEvaluate(JsonataExpression expression, FlowMessage msg, string? named, out JsonNode? value, out bool isNull)
    {
        try
        {
            var result = expression.Evaluate(msg);
            value = result.Value;
            isNull = result.IsDefined && result.Value is null;
            return true;
        }
        catch (JsonataException)
        {
            // Node-RED: node.error without the message (not catchable), naming the output expression.
            Node.Error("Invalid JSONata expression: " + named);
            value = null;
            isNull = false;
            return false;
        }
    }
}

public sealed class DebugConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "true", UiHint = PropertyUi.Hidden)]
    public bool Active { get; set; } = true;

    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "To debug sidebar")]
    public bool Tosidebar { get; set; } = true;

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "To system console")]
    public bool Console { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "To node status")]
    public bool Tostatus { get; set; }

    [NodeProperty(Default = "\"payload\"", UiHint = PropertyUi.Typed, TypeProperty = "targetType", Types = ["msg", "full", "jsonata"], Label = "Output")]
    public string? Complete { get; set; } = "payload";

    [NodeProperty(Default = "\"msg\"", UiHint = PropertyUi.Hidden)]
    public string? TargetType { get; set; } = "msg";

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Hidden)]
    public string? StatusVal { get; set; }

    [NodeProperty(Default = "\"auto\"", UiHint = PropertyUi.Hidden)]
    public string? StatusType { get; set; }
}
