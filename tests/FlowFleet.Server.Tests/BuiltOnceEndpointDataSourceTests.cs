using FlowFleet.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;

namespace FlowFleet.Server.Tests;

/// <summary>The start's minimal-API endpoints are built once, by whichever reader comes first, and served as built.</summary>
public sealed class BuiltOnceEndpointDataSourceTests
{
    [Fact]
    public async Task Concurrent_readers_get_one_build()
    {
        var inner = new CountingSource(fail: 0);
        var source = new BuiltOnceEndpointDataSource(inner);

        var lists = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => source.Endpoints)));

        Assert.Equal(1, inner.Builds);
        Assert.All(lists, l => Assert.Same(lists[0], l));
    }

    [Fact]
    public void A_failed_build_is_not_kept()
    {
        var inner = new CountingSource(fail: 1);
        var source = new BuiltOnceEndpointDataSource(inner);

        Assert.Throws<InvalidOperationException>(() => source.Endpoints);
        Assert.Single(source.Endpoints);
        Assert.Equal(2, inner.Builds);
    }

    [Fact]
    public void A_source_that_signals_changes_is_left_as_it_is()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        using var app = builder.Build();
        IEndpointRouteBuilder routes = app;
        var changing = new RouteEndpointDataSource();
        routes.DataSources.Add(changing);

        BuiltOnceEndpointDataSource.WrapMinimalApis(app);

        Assert.Same(changing, Assert.Single(routes.DataSources));
    }

    [Fact]
    public async Task The_app_serves_the_endpoints_built_once_for_its_minimal_apis_and_groups()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapGet("/a", () => "a");
        app.MapGroup("/g").MapGet("/b", () => "b");
        IEndpointRouteBuilder routes = app;

        BuiltOnceEndpointDataSource.WrapMinimalApis(app);

        Assert.Equal(2, routes.DataSources.Count);
        Assert.All(routes.DataSources, s => Assert.IsType<BuiltOnceEndpointDataSource>(s));
        var built = routes.DataSources.SelectMany(s => s.Endpoints).ToList();
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
        Assert.Equal("a", await client.GetStringAsync(new Uri("/a", UriKind.Relative)));
        Assert.Equal("b", await client.GetStringAsync(new Uri("/g/b", UriKind.Relative)));
        // The router's endpoints are the very ones built above, not a second build.
        var served = app.Services.GetRequiredService<EndpointDataSource>().Endpoints;
        Assert.All(built, e => Assert.Contains(served, s => ReferenceEquals(s, e)));
        await app.StopAsync();
    }

    private sealed class CountingSource(int fail) : EndpointDataSource
    {
        private int _builds;

        public int Builds => _builds;

        public override IReadOnlyList<Endpoint> Endpoints
        {
            get
            {
                if (Interlocked.Increment(ref _builds) <= fail)
                {
                    throw new InvalidOperationException("build failed");
                }
                return [new Endpoint(_ => Task.CompletedTask, EndpointMetadataCollection.Empty, "e")];
            }
        }

        public override IChangeToken GetChangeToken() => NullChangeToken.Singleton;
    }

    // Named as ASP.NET Core's minimal-API source, but one that can signal a change.
    private sealed class RouteEndpointDataSource : EndpointDataSource
    {
        private readonly CancellationTokenSource _changed = new();

        public override IReadOnlyList<Endpoint> Endpoints => [];

        public override IChangeToken GetChangeToken() => new CancellationChangeToken(_changed.Token);
    }
}
