using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Runtime.Engine;

internal sealed partial class RunningNode
{
    public void Send(FlowMessage? msg) => Send(0, msg);

    public void Send(int port, FlowMessage? msg)
    {
        if (msg is null)
        {
            return;
        }
        var wires = Wires;
        if (port < 0 || port >= wires.Length || wires[port].Length == 0)
        {
            return;
        }
        if (msg.MsgId is null)
        {
            msg.MsgId = MessageId.New();
        }
        var targets = wires[port];
        EngineMetrics.CountOut(_counters, targets.Length);
        targets[0].Enqueue(msg);
        for (var i = 1; i < targets.Length; i++)
        {
            targets[i].Enqueue(msg.Clone());
        }
    }

    public async ValueTask SendAsync(FlowMessage? msg)
    {
        var wires = Wires;
        if (t_handling is not null || t_blockingSends || msg is null || wires.Length == 0 || wires[0].Length == 0)
        {
            // Inside input handling Send already defers full-queue sends without a thread (and keeps their order).
            Send(msg);
            return;
        }
        msg.MsgId ??= MessageId.New();
        var targets = wires[0];
        EngineMetrics.CountOut(_counters, targets.Length);
        var copies = targets.Length == 1 ? null : targets.Skip(1).Select(_ => msg.Clone()).ToArray();
        await targets[0].EnqueueAsync(msg).ConfigureAwait(false);
        for (var i = 1; i < targets.Length; i++)
        {
            await targets[i].EnqueueAsync(copies![i - 1]).ConfigureAwait(false);
        }
    }

    public void Send(IReadOnlyList<IReadOnlyList<FlowMessage>?> perPort, bool cloneFirst = false)
    {
        ArgumentNullException.ThrowIfNull(perPort);
        if (!cloneFirst && perPort is OnePortSend single)
        {
            Send(0, single.Message);
            return;
        }
        if (!cloneFirst && SingleMessage(perPort) is var (onePort, one))
        {
            Send(onePort, one);
            return;
        }
        var wires = Wires;
        string? sharedId = null;
        var sent = new HashSet<FlowMessage>(ReferenceEqualityComparer.Instance);
        for (var port = 0; port < perPort.Count && port < wires.Length; port++)
        {
            var msgs = perPort[port];
            if (msgs is null || wires[port].Length == 0)
            {
                continue;
            }
            foreach (var msg in msgs)
            {
                if (msg is null)
                {
                    continue;
                }
                if (msg.MsgId is null)
                {
                    msg.MsgId = sharedId ??= MessageId.New();
                }
                EngineMetrics.CountOut(_counters, wires[port].Length);
                foreach (var target in wires[port])
                {
                    var first = sent.Add(msg);
                    target.Enqueue(first && !cloneFirst ? msg : msg.Clone());
                }
            }
        }
    }

    /// <summary>The one message of a send that has exactly one (the common case: no per-send bookkeeping), else null.</summary>
    private static (int Port, FlowMessage Msg)? SingleMessage(IReadOnlyList<IReadOnlyList<FlowMessage>?> perPort)
    {
        (int, FlowMessage)? found = null;
        for (var port = 0; port < perPort.Count; port++)
        {
            if (perPort[port] is not { } msgs)
            {
                continue;
            }
            // By index: a foreach over the interface boxed an enumerator per port on every send.
            for (var i = 0; i < msgs.Count; i++)
            {
                var msg = msgs[i];
                if (msg is null)
                {
                    continue;
                }
                if (found is not null)
                {
                    return null;
                }
                found = (port, msg);
            }
        }
        return found;
    }

    public void Error(string message, FlowMessage? msg = null) => Error(message, msg, cause: null);

    /// <summary>A node error; <paramref name="cause"/>, when the node threw, goes to the log with its stack.</summary>
    public void Error(string message, FlowMessage? msg, Exception? cause) => Error(message, msg, cause, null);

    public void Error(JsErrorInfo error, FlowMessage? msg = null) => Error(error, msg, null);

    /// <summary>Node-RED's <c>node.error(err, msg)</c> with an Error object: catch nodes also get its stack.</summary>
    public void Error(JsErrorInfo error, FlowMessage? msg, Exception? cause)
    {
        ArgumentNullException.ThrowIfNull(error);
        var text = INodeHost.JsErrorText(error);
        // An Error made in .NET code has no JavaScript stack; Node-RED's has one, so one line in its format stands in. A
        // script's Error (it has its stack) is shown in the sidebar as the error object, as Node-RED's log shows it.
        Error(text, msg, cause, error.Stack ?? text + "\n    at " + Type + " (" + Id + ")", error.Stack is null ? null : error);
    }

    public void ErrorValue(JsonNode? value, FlowMessage? msg = null)
    {
        var text = INodeHost.JsText(value);
        _engine.Metrics.CountError(Spec.Type);
        Logger.LogWarning("[{Type}:{Id}] {Message}", Type, Id, value is JsonObject o && o["message"] is JsonValue m ? JsonTools.ToJsString(m) : text);
        _engine.Events.Log.Publish(new NodeLogEntry(Id, Type, Name, "error", text));
        if (msg is null || !Scope.ReportError(this, text, msg, null, value as JsonObject ?? []))
        {
            _engine.Events.Debug.Publish(new DebugMessage(Alias, Scope.Id, Name, null, null, JsonDepth.Clone(value), Level: "error",
                Path: Scope.Id) { Type = Type });
        }
    }

    private void Error(string message, FlowMessage? msg, Exception? cause, string? stack, JsErrorInfo? shown = null)
    {
        _engine.Metrics.CountError(Spec.Type);
        Logger.LogWarning(cause, "[{Type}:{Id}] {Message}", Type, Id, message);
        _engine.Events.Log.Publish(new NodeLogEntry(Id, Type, Name, "error", message));
        // As in Node-RED, an error a catch node handles is not shown in the sidebar.
        if (msg is null || !Scope.ReportError(this, message, msg, stack))
        {
            _engine.Events.Debug.Publish(new DebugMessage(Alias, Scope.Id, Name, null, null, JsonValue.Create(message), Level: "error",
                Path: Scope.Id) { Type = Type, Error = shown });
        }
    }

    public void Warn(string message)
    {
        Logger.LogWarning("[{Type}:{Id}] {Message}", Type, Id, message);
        _engine.Events.Log.Publish(new NodeLogEntry(Id, Type, Name, "warn", message));
        _engine.Events.Debug.Publish(new DebugMessage(Alias, Scope.Id, Name, null, null, JsonValue.Create(message), Level: "warn", Path: Scope.Id) { Type = Type });
    }

    public void Warn(JsonNode? value)
    {
        var text = JsonTools.ToJsString(value);
        Logger.LogWarning("[{Type}:{Id}] {Message}", Type, Id, text);
        _engine.Events.Log.Publish(new NodeLogEntry(Id, Type, Name, "warn", text));
        _engine.Events.Debug.Publish(new DebugMessage(Alias, Scope.Id, Name, null, null, value, Level: "warn", Path: Scope.Id) { Type = Type });
    }

    public void Log(string message)
    {
        Logger.LogInformation("[{Type}:{Id}] {Message}", Type, Id, message);
        _engine.Events.Log.Publish(new NodeLogEntry(Id, Type, Name, "info", message));
    }

    public void Status(NodeStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        CurrentStatus = status;
        _engine.Events.Status.Publish(new NodeStatusEvent(Id, Type, Scope.Id, status));
        Scope.ReportStatus(this, status);
    }

    public void Done(FlowMessage msg) => Scope.ReportComplete(this, msg);

    public void DeferDone() => _deferDone = true;

    public string? GetEnv(string name) => _engine.GetEnv(this, name);

    public JsonNode? GetEnvValue(string name) => _engine.GetEnvValue(this, name);

    public JsonNode? Evaluate(string? type, JsonNode? value, FlowMessage? msg) => TypedInput.Evaluate(type, value, msg, this);

    public bool Deliver(string nodeId, FlowMessage msg) => _engine.Find(nodeId, Scope) is { } target && target.Enqueue(msg);

    public FlowNode? FindNode(string id) => _engine.Find(id, Scope)?.Instance;

    public IEnumerable<(INodeHost Host, FlowNode Node)> NodesOfType(string type) =>
        _engine.Running.Where(r => r.Type == type && r.Instance is not null).Select(r => ((INodeHost)r, r.Instance!));

    public void Debug(DebugMessage message) => _engine.Events.Debug.Publish(message);
}
