using Microsoft.Extensions.Primitives;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// A minimal-API data source (an app's or a group's) whose endpoints are built once and kept. ASP.NET Core builds them anew
/// on every read of <see cref="Endpoints"/> (each endpoint's request delegate and metadata): the start's warm-up lane built
/// the API's ~100 endpoints, then the route matcher built them all again on the first request (bench/README.md, issue 19,
/// start-up). Wrapped, the lane's build is the one the matcher uses, and a matcher arriving first waits for it. Only sources
/// that never signal a change are wrapped (the route matcher keeps their endpoints for good too), once every endpoint is mapped.
/// </summary>
internal sealed class BuiltOnceEndpointDataSource(EndpointDataSource inner) : EndpointDataSource
{
    private readonly Lock _gate = new();
    private IReadOnlyList<Endpoint>? _endpoints;

    public override IReadOnlyList<Endpoint> Endpoints
    {
        get
        {
            if (Volatile.Read(ref _endpoints) is { } built)
            {
                return built;
            }
            lock (_gate)
            {
                // A failed build is not kept: the next reader builds (and fails) again, as without the wrapper.
                return _endpoints ??= inner.Endpoints;
            }
        }
    }

    public override IChangeToken GetChangeToken() => inner.GetChangeToken();

    public override IReadOnlyList<Endpoint> GetGroupedEndpoints(RouteGroupContext context) => inner.GetGroupedEndpoints(context);

    /// <summary>Wraps the app's minimal-API sources (not Razor components', not static assets': those keep their own).</summary>
    public static void WrapMinimalApis(IEndpointRouteBuilder endpoints)
    {
        var sources = endpoints.DataSources.ToList();
        endpoints.DataSources.Clear();
        foreach (var source in sources)
        {
            var name = source.GetType().Name;
            var minimalApi = name is "RouteEndpointDataSource" or "GroupEndpointDataSource";
            endpoints.DataSources.Add(minimalApi && !source.GetChangeToken().ActiveChangeCallbacks ? new BuiltOnceEndpointDataSource(source) : source);
        }
    }
}
