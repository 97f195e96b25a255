using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Runtime;

/// <summary>A message for the debug sidebar. <see cref="Value"/> is what the debug node shows.</summary>
public sealed record DebugMessage(string NodeId, string? FlowId, string? Name, string? Topic, string? Property, JsonNode? Value,
    string? Level = null, string? Path = null)
{
    public DateTimeOffset Timestamp { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The node type, for log messages (<c>node.warn/error</c>), which Node-RED's sidebar shows with it.</summary>
    public string? Type { get; init; }

    /// <summary>The shown property exists with a JSON null value (<see cref="Value"/> is null for missing ones too).</summary>
    public bool IsNull { get; init; }

    /// <summary><c>msg.topic</c> as it is (Node-RED sends it unchanged, whatever its type).</summary>
    public JsonNode? TopicValue { get; init; }

    /// <summary>
    /// The Error object a script reported: Node-RED's sidebar gets it as an error object (format <c>error</c>); <see cref="Value"/>
    /// holds its text for every other viewer.
    /// </summary>
    public JsErrorInfo? Error { get; init; }
}

/// <summary>A log line from a node (warn, error, info).</summary>
public sealed record NodeLogEntry(string NodeId, string Type, string? Name, string Level, string Message);

/// <summary>A node's status changed.</summary>
public sealed record NodeStatusEvent(string NodeId, string Type, string? FlowId, NodeStatus Status);

/// <summary>The engine's outbound events (debug, status, logs, deploys). Subscribers must not block; one that throws is logged.</summary>
public sealed class FlowEvents
{
    public FlowEvents()
    {
    }

    public FlowEvents(ILogger<FlowEvents> logger)
    {
        Debug.Logger = Status.Logger = Log.Logger = logger;
        Deployed.Logger = logger;
    }

    public Notifier<DebugMessage> Debug { get; } = new();

    public Notifier<NodeStatusEvent> Status { get; } = new();

    public Notifier<NodeLogEntry> Log { get; } = new();

    /// <summary>Raised after each deploy with the new revision.</summary>
    public Notifier<string> Deployed { get; } = new();
}
