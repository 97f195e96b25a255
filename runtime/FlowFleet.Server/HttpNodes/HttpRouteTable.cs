using System.Collections.Immutable;
using FlowFleet.Nodes.Core.Http;

namespace FlowFleet.Server.HttpNodes;

/// <summary>The routes of <c>http in</c> nodes, matched Express-style (<c>/a/:id</c>, trailing <c>*</c>).</summary>
public sealed class HttpRouteTable : IHttpRouteTable
{
    /// <summary>Paths FlowFleet itself serves; an http in node may not claim them.</summary>
    public static readonly IReadOnlyList<string> Reserved =
        ["/red", "/api", "/client", "/shelly", "/ble", "/healthz", "/metrics", "/login", "/logout", "/_blazor", "/_framework", "/_content", "/openapi", "/lib", "/css", "/js"];

    private ImmutableList<Route> _routes = [];

    private sealed record Route(string Method, string[] Segments, HttpRouteHandler Handler);

    public bool IsReserved(string path, out string reason)
    {
        var p = "/" + path.Trim().TrimStart('/');
        foreach (var r in Reserved)
        {
            if (p.Equals(r, StringComparison.OrdinalIgnoreCase) || p.StartsWith(r + "/", StringComparison.OrdinalIgnoreCase))
            {
                reason = $"http in path '{path}' is inside FlowFleet's own '{r}'";
                return true;
            }
        }
        if (p == "/")
        {
            reason = "http in path '/' is FlowFleet's editor";
            return true;
        }
        reason = "";
        return false;
    }

    public IDisposable Add(string method, string path, HttpRouteHandler handler)
    {
        if (IsReserved(path, out var reason))
        {
            throw new InvalidOperationException(reason);
        }
        var route = new Route(method.ToUpperInvariant(), Split(path), handler);
        ImmutableInterlocked.Update(ref _routes, l => l.Add(route));
        return new Registration(this, route);
    }

    /// <summary>Finds the route for a request; <paramref name="methodMismatch"/> tells a 405 from a 404.</summary>
    public bool TryMatch(string method, string path, out HttpRouteHandler handler, out Dictionary<string, string> parameters, out bool methodMismatch)
    {
        var parts = Split(path);
        methodMismatch = false;
        foreach (var r in _routes)
        {
            var p = new Dictionary<string, string>(StringComparer.Ordinal);
            if (!Matches(r.Segments, parts, p))
            {
                continue;
            }
            if (r.Method != method.ToUpperInvariant() && !(r.Method == "GET" && method.Equals("HEAD", StringComparison.OrdinalIgnoreCase)))
            {
                methodMismatch = true;
                continue;
            }
            handler = r.Handler;
            parameters = p;
            return true;
        }
        handler = null!;
        parameters = [];
        return false;
    }

    private static bool Matches(string[] pattern, string[] parts, Dictionary<string, string> p)
    {
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == "*")
            {
                return true;
            }
            if (i >= parts.Length)
            {
                return pattern[i].EndsWith('?');
            }
            if (pattern[i].StartsWith(':'))
            {
                p[pattern[i][1..].TrimEnd('?')] = Uri.UnescapeDataString(parts[i]);
            }
            else if (!pattern[i].Equals(parts[i], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }
        return pattern.Length == parts.Length;
    }

    private static string[] Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);

    private sealed class Registration(HttpRouteTable owner, Route route) : IDisposable
    {
        public void Dispose() => ImmutableInterlocked.Update(ref owner._routes, l => l.Remove(route));
    }
}
