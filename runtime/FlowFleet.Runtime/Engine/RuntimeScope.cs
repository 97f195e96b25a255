using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Runtime.Engine;

/// <summary>A running flow (tab or subflow instance): routes errors, status and completion to its observers.</summary>
internal sealed class RuntimeScope(ScopeSpec spec, RuntimeScope? parent)
{
    private const int MaxErrorRoundTrips = 10;
    // Replaced whole when a node is added (a deploy may add one while the others report): readers never see a list change.
    private RunningNode[] _catches = [];
    private RunningNode[] _statuses = [];
    private RunningNode[] _completes = [];

    public string Id => spec.Id;

    public ScopeSpec Spec => spec;

    public RuntimeScope? Parent => parent;

    public RunningNode? InstanceNode { get; set; }

    /// <summary>This flow's context, shared by its nodes (made by the first node of the flow a deploy builds).</summary>
    public Context.IContextScope? FlowContext { get; set; }

    public bool HasCompleteObservers => _completes.Length > 0;

    public void AddObserver(RunningNode node)
    {
        if (node.Instance is ICatchObserver)
        {
            _catches = [.. _catches, node];
        }
        if (node.Instance is IStatusObserver)
        {
            _statuses = [.. _statuses, node];
        }
        if (node.Instance is ICompleteObserver)
        {
            _completes = [.. _completes, node];
        }
    }

    /// <summary>Hands the error to catch nodes; false when none took it (Node-RED then logs it to the sidebar).</summary>
    public bool ReportError(RunningNode source, string message, FlowMessage msg, string? stack = null, JsonObject? thrown = null)
    {
        var count = 1;
        if (msg.Data["error"] is JsonObject previous && previous["source"] is JsonObject prev && prev["id"]?.GetValue<string>() == source.Alias)
        {
            count = (int)JsonTools.ToNumber(prev["count"]) + 1;
            if (count > MaxErrorRoundTrips)
            {
                source.Logger.LogMessageLoop(source.Id);
                return true;
            }
        }
        var errorMsg = msg.Clone();
        if (errorMsg.Data["error"] is { } old)
        {
            errorMsg.Data.Remove("error");
            errorMsg.Data["_error"] = old;
        }
        var error = new JsonObject
        {
            ["message"] = message,
            ["source"] = Source(source, count),
        };
        if (thrown is not null)
        {
            // Node-RED copies these own properties of whatever was passed to node.error / done.
            foreach (var key in (string[])["code", "stack", "cause"])
            {
                if (thrown.TryGetPropertyValue(key, out var v))
                {
                    error[key] = JsonDepth.Clone(v);
                }
            }
        }
        else if (stack is not null)
        {
            // Node-RED adds the stack of an Error object passed to node.error.
            error["stack"] = stack;
        }
        errorMsg.Data["error"] = error;
        if (Deliver(source, _catches, errorMsg, c => !((ICatchObserver)c.Instance!).UncaughtOnly) ||
            Deliver(source, _catches, errorMsg, c => ((ICatchObserver)c.Instance!).UncaughtOnly))
        {
            return true;
        }
        return parent is not null && InstanceNode is { } instance && parent.ReportError(instance, message, msg, stack, thrown);
    }

    public void ReportStatus(RunningNode source, NodeStatus status)
    {
        if (_statuses.Length == 0 || source.Instance is IStatusObserver)
        {
            return;
        }
        var data = status.ToJson();
        data["source"] = Source(source);
        var msg = new FlowMessage(new JsonObject { ["_msgid"] = MessageId.New(), ["status"] = data });
        Deliver(source, _statuses, msg, _ => true);
    }

    public void ReportComplete(RunningNode source, FlowMessage msg)
    {
        if (_completes.Length > 0 && source.Instance is not ICompleteObserver)
        {
            // Node-RED's handleComplete: each complete node gets a copy with msg.complete naming the source.
            var copy = msg.Clone();
            copy.Data["complete"] = new JsonObject
            {
                ["source"] = Source(source),
            };
            Deliver(source, _completes, copy, _ => true, requireExplicitScope: true);
        }
    }

    /// <summary>The <c>source</c> object of an error, status or complete message (with the error's round-trip count).</summary>
    private static JsonObject Source(RunningNode source, int? count = null)
    {
        var o = new JsonObject { ["id"] = source.Alias, ["type"] = source.Type, ["name"] = SourceName(source) };
        if (count is { } c)
        {
            o["count"] = c;
        }
        return o;
    }

    /// <summary>
    /// Node-RED's Node sets <c>name</c> only when the config has a non-empty one (otherwise it is undefined); these node
    /// types assign <c>n.name</c> themselves, so theirs is "" when configured empty.
    /// </summary>
    private static JsonNode SourceName(RunningNode source) =>
        source.RawName is { } raw && (raw.Length > 0 || OwnName.Contains(source.Type))
            ? JsonValue.Create(raw)
            : JsSpecial.UndefinedNode();

    private static readonly HashSet<string> OwnName = new(StringComparer.Ordinal)
    {
        "debug", "function", "template", "delay", "http proxy", "tcp out",
    };

    private static bool Deliver(RunningNode source, RunningNode[] observers, FlowMessage msg, Func<RunningNode, bool> filter,
        bool requireExplicitScope = false)
    {
        var handled = false;
        foreach (var o in observers)
        {
            var observer = (IScopedObserver)o.Instance!;
            if (!filter(o) || ReferenceEquals(o, source))
            {
                continue;
            }
            var inScope = observer.GroupScope
                ? o.Spec.GroupId is not null && o.Spec.GroupId == source.Spec.GroupId
                : observer.Scope is null ? !requireExplicitScope : observer.Scope.Contains(source.Alias);
            if (!inScope)
            {
                continue;
            }
            o.Enqueue(handled ? msg.Clone() : msg);
            handled = true;
        }
        return handled;
    }
}

internal static partial class RuntimeScopeLog
{
    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning,
        Message = "Message exceeded maximum number of catches in node {Id}")]
    public static partial void LogMessageLoop(this Microsoft.Extensions.Logging.ILogger logger, string id);
}
