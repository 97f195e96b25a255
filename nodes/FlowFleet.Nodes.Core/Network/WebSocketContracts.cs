using System.Net.WebSockets;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>Serves one accepted websocket until it closes.</summary>
public delegate Task WebSocketRouteHandler(WebSocket socket, CancellationToken cancellationToken);

/// <summary>The host's table of websocket paths served by <c>websocket-listener</c> nodes (beside http in routes).</summary>
public interface IWebSocketRouteTable
{
    /// <summary>Serves websocket upgrades on <paramref name="path"/>; dispose to remove. Throws when the path is taken or reserved.</summary>
    IDisposable Add(string path, WebSocketRouteHandler handler);
}

/// <summary>A websocket endpoint (listener or client config node) that websocket in/out nodes use.</summary>
public interface IWebSocketEndpoint
{
    /// <summary>Connection changes: <c>opened</c>, <c>closed</c>, <c>erro</c> with the connection count (empty for a client) and id.</summary>
    event Action<string, string, string>? Changed;

    bool WholeMsg { get; }

    void AddInput(Runtime.Nodes.INodeHost input);

    void RemoveInput(Runtime.Nodes.INodeHost input);

    Task BroadcastAsync(object data, CancellationToken cancellationToken);

    Task ReplyAsync(string id, object data, CancellationToken cancellationToken);
}
