using System.Text.Json.Nodes;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Messages;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Runtime.Nodes;

/// <summary>What the engine offers a running node — Node-RED's <c>node</c> object.</summary>
public interface INodeHost
{
    string Id { get; }

    string Type { get; }

    string? Name { get; }

    /// <summary>The flow (tab, or subflow instance) the node runs in.</summary>
    string FlowId { get; }

    /// <summary>The id as written in the flow file (differs from <see cref="Id"/> for nodes copied into a subflow instance).</summary>
    string Alias { get; }

    /// <summary>The node's config JSON as deployed.</summary>
    JsonObject Config { get; }

    ILogger Logger { get; }

    IServiceProvider Services { get; }

    /// <summary>Cancelled when the node closes.</summary>
    CancellationToken Closing { get; }

    /// <summary>Sends on port 0; null sends nothing.</summary>
    void Send(FlowMessage? msg);

    /// <summary>Sends on one port.</summary>
    void Send(int port, FlowMessage? msg);

    /// <summary>
    /// Sends on port 0 from outside input handling (a source's socket or client callback): while a target's queue is full it
    /// waits asynchronously, holding no thread, where <see cref="Send(FlowMessage?)"/> blocks such a caller. Await it before
    /// the next send to keep their order.
    /// </summary>
    ValueTask SendAsync(FlowMessage? msg);

    /// <summary>Sends several messages per port (Node-RED's <c>send([[a, b], null, c])</c>); cloning as Node-RED does.</summary>
    void Send(IReadOnlyList<IReadOnlyList<FlowMessage>?> perPort, bool cloneFirst = false);

    /// <summary>Reports an error; with a message it reaches catch nodes (Node-RED's <c>node.error(err, msg)</c>).</summary>
    void Error(string message, FlowMessage? msg = null);

    /// <summary>
    /// Node-RED's <c>node.error(err, msg)</c> with an Error object: the text is <c>err.toString()</c> and catch nodes also
    /// get <c>error.stack</c>.
    /// </summary>
    void Error(JsErrorInfo error, FlowMessage? msg = null);

    /// <summary>
    /// Node-RED's <c>node.error(value, msg)</c> (or <c>done(value)</c>) with a value that is not an Error, such as the plain
    /// object a library threw: catch nodes get <c>String(value)</c> as <c>error.message</c> plus the value's own
    /// <c>code</c>, <c>stack</c> and <c>cause</c>; the sidebar shows the value itself.
    /// </summary>
    void ErrorValue(JsonNode? value, FlowMessage? msg = null);

    /// <summary>JavaScript's <c>String(value)</c> for a value that is not an Error: an object is "[object Object]".</summary>
    static string JsText(JsonNode? value) => value switch
    {
        JsonObject => "[object Object]",
        JsonArray a => string.Join(",", a.Select(x => x is null ? "" : JsText(x))),
        _ => JsonTools.ToJsString(value),
    };

    /// <summary>JavaScript's <c>String(err)</c>: "Name: message", or the name alone when the message is empty.</summary>
    static string JsErrorText(JsErrorInfo error) =>
        error?.Text ?? "";

    void Warn(string message);

    /// <summary>A warning whose value is shown as it is (an object stays an object in the sidebar, as in Node-RED).</summary>
    void Warn(JsonNode? value);

    void Log(string message);

    /// <summary>Sets the status shown under the node; reaches status nodes.</summary>
    void Status(NodeStatus status);

    /// <summary>Signals that a message is finished; reaches complete nodes (implied when input handling returns, unless <see cref="DeferDone"/>).</summary>
    void Done(FlowMessage msg);

    /// <summary>Called during input handling to say the node will call <see cref="Done"/> itself later.</summary>
    void DeferDone();

    IContextScope NodeContext { get; }

    IContextScope FlowContext { get; }

    IContextScope GlobalContext { get; }

    /// <summary>Environment variable lookup: node → group → flow → subflow instance → process.</summary>
    string? GetEnv(string name);

    /// <summary>An environment value with its type: typed tab, group and subflow env (num, bool, json) is not a string.</summary>
    JsonNode? GetEnvValue(string name);

    /// <summary>Evaluates a Node-RED typed input (<c>str num bool json msg flow global env date bin re</c>).</summary>
    JsonNode? Evaluate(string? type, JsonNode? value, FlowMessage? msg);

    /// <summary>Delivers a message straight to the input of another node (links).</summary>
    bool Deliver(string nodeId, FlowMessage msg);

    /// <summary>The running node with this id (or alias in the same subflow instance), if any.</summary>
    FlowNode? FindNode(string id);

    /// <summary>Running nodes of a type (dynamic link calls, config lookups).</summary>
    IEnumerable<(INodeHost Host, FlowNode Node)> NodesOfType(string type);

    /// <summary>Publishes to the editor's debug sidebar.</summary>
    void Debug(DebugMessage message);
}
