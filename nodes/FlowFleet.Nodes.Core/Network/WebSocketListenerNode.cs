using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>Node-RED's websocket-listener config node: a websocket path served by FlowFleet's web server, like http in.</summary>
[NodeType("websocket-listener", Category = "config", Inputs = 0, Outputs = 0, LabelProperty = "path",
    Help = "A websocket endpoint on FlowFleet's own web server at `path` (e.g. `/ws/data`). `wholemsg: \"true\"` sends and receives whole messages as JSON instead of the payload alone.")]
public sealed class WebSocketListenerNode(IWebSocketRouteTable? routes = null) : WebSocketEndpointNode<WebSocketListenerConfig>
{
    private readonly CancellationTokenSource _stop = new();
    private IDisposable? _route;

    public override bool WholeMsg => Config.Wholemsg?.ToString() == "true";

    protected override bool IsServer => true;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (routes is null)
        {
            throw new InvalidOperationException("websocket-listener needs FlowFleet's web server to serve its path");
        }
        var path = (Config.Path ?? "").Trim();
        if (path.Length == 0)
        {
            throw new InvalidOperationException("websocket-listener has no path");
        }
        _route = routes.Add(path.StartsWith('/') ? path : "/" + path, (socket, ct) =>
        {
            var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stop.Token);
            return ServeAsync(socket, linked.Token).ContinueWith(_ => linked.Dispose(), TaskScheduler.Default);
        });
        return Task.CompletedTask;
    }

    public override async ValueTask CloseAsync(bool removed)
    {
        _route?.Dispose();
        await CloseAllAsync();
        await _stop.CancelAsync();
    }
}

public sealed class WebSocketListenerConfig
{
    [NodeProperty(Default = "\"\"", Required = true, Label = "Path")]
    public string? Path { get; set; }

    [NodeProperty(Default = "\"false\"", UiHint = PropertyUi.Select, Options = ["false:payload", "true:entire message"], Label = "Send/Receive")]
    public System.Text.Json.Nodes.JsonNode? Wholemsg { get; set; }
}
