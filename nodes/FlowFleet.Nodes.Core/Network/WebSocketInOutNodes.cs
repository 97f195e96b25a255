using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>Shared by websocket in and out: finds the endpoint and mirrors its connection events as status.</summary>
internal static class WebSocketStatus
{
    public static IWebSocketEndpoint Attach(INodeHost node, string? server, string? client, Action<string, string, string> handler)
    {
        var id = !string.IsNullOrEmpty(client) ? client : server;
        if (string.IsNullOrEmpty(id) || node.FindNode(id) is not IWebSocketEndpoint endpoint)
        {
            throw new InvalidOperationException("Missing server configuration");
        }
        endpoint.Changed += handler;
        return endpoint;
    }

    public static NodeStatus Of(string evt, string count) => evt switch
    {
        "opened" => new NodeStatus("green", "dot", $"connected {count}".TrimEnd()),
        "erro" => new NodeStatus("red", "ring", "error"),
        _ => count.Length > 0 && count != "0" ? new NodeStatus("green", "dot", $"connected {count}") : new NodeStatus("red", "ring", "disconnected"),
    };
}

/// <summary>Node-RED's websocket in: messages received by a websocket-listener or websocket-client.</summary>
[NodeType("websocket in", Category = "network", Inputs = 0, Color = "rgb(215, 215, 160)", Icon = "language",
    Help = "Sends what arrives on the websocket of `server` (a websocket-listener) or `client` (a websocket-client): `msg.payload` (text, or a buffer for binary frames), or the whole parsed message when the endpoint has `wholemsg`; `msg._session` names the connection for a reply.")]
public sealed class WebSocketInNode : FlowNode<WebSocketNodeConfig>
{
    private IWebSocketEndpoint? _endpoint;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _endpoint = WebSocketStatus.Attach(Node, Config.Server, Config.Client, OnChanged);
        _endpoint.AddInput(Node);
        return Task.CompletedTask;
    }

    private void OnChanged(string evt, string count, string id) => Node.Status(WebSocketStatus.Of(evt, count));

    public override ValueTask CloseAsync(bool removed)
    {
        if (_endpoint is not null)
        {
            _endpoint.RemoveInput(Node);
            _endpoint.Changed -= OnChanged;
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>Node-RED's websocket out: sends to the connection in <c>msg._session</c>, else to every connection.</summary>
[NodeType("websocket out", Category = "network", Outputs = 0, Color = "rgb(215, 215, 160)", Icon = "language", Align = "right",
    Help = "Sends `msg.payload` (buffers as binary frames, anything else as text; objects as JSON) — or the whole message as JSON when the endpoint has `wholemsg` — to the websocket connection named by `msg._session`, or to all connections of `server`/`client`.")]
public sealed class WebSocketOutNode : FlowNode<WebSocketNodeConfig>
{
    private IWebSocketEndpoint? _endpoint;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _endpoint = WebSocketStatus.Attach(Node, Config.Server, Config.Client, OnChanged);
        return Task.CompletedTask;
    }

    private void OnChanged(string evt, string count, string id) => Node.Status(WebSocketStatus.Of(evt, count));

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var endpoint = _endpoint ?? throw new InvalidOperationException("Missing server configuration");
        object? data = null;
        var session = msg.Data["_session"] as JsonObject;
        if (endpoint.WholeMsg)
        {
            var copy = (JsonObject)msg.Data.DeepClone();
            copy.Remove("_session");
            data = copy.ToJsonString();
        }
        else if (msg.Data.TryGetPropertyValue("payload", out var payload))
        {
            data = JsonTools.IsBuffer(payload) ? JsonTools.BufferBytes(payload!)
                : payload is JsonObject or JsonArray or null ? payload?.ToJsonString() ?? "null"
                : JsonTools.ToJsString(payload);
        }
        if (data is null or "" or byte[] { Length: 0 })
        {
            return;
        }
        if (session?["type"]?.ToString() == "websocket")
        {
            await endpoint.ReplyAsync(session["id"]?.ToString() ?? "", data, cancellationToken);
        }
        else
        {
            await endpoint.BroadcastAsync(data, cancellationToken);
        }
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _endpoint?.Changed -= OnChanged;
        return ValueTask.CompletedTask;
    }
}

public sealed class WebSocketNodeConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(UiHint = PropertyUi.Config, ConfigType = "websocket-listener", Label = "Listen on (server)")]
    public string? Server { get; set; }

    [NodeProperty(UiHint = PropertyUi.Config, ConfigType = "websocket-client", Label = "Connect to (client)")]
    public string? Client { get; set; }
}
