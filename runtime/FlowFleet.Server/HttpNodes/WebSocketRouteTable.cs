using System.Collections.Concurrent;
using FlowFleet.Nodes.Core.Network;

namespace FlowFleet.Server.HttpNodes;

/// <summary>Paths of websocket-listener nodes, served beside http in routes (exact path, case-insensitive).</summary>
public sealed class WebSocketRouteTable(HttpRouteTable httpRoutes) : IWebSocketRouteTable
{
    private readonly ConcurrentDictionary<string, WebSocketRouteHandler> _routes = new(StringComparer.OrdinalIgnoreCase);

    public IDisposable Add(string path, WebSocketRouteHandler handler)
    {
        var p = "/" + path.Trim().Trim('/');
        if (httpRoutes.IsReserved(p, out var reason))
        {
            throw new InvalidOperationException(reason.Replace("http in", "websocket-listener", StringComparison.Ordinal));
        }
        if (!_routes.TryAdd(p, handler))
        {
            throw new InvalidOperationException($"websocket-listener path '{path}' is used by another listener");
        }
        return new Registration(this, p, handler);
    }

    public bool TryMatch(string path, out WebSocketRouteHandler handler) => _routes.TryGetValue("/" + path.Trim('/'), out handler!);

    private sealed class Registration(WebSocketRouteTable owner, string path, WebSocketRouteHandler handler) : IDisposable
    {
        public void Dispose() => owner._routes.TryRemove(new KeyValuePair<string, WebSocketRouteHandler>(path, handler));
    }
}
