using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// The command line's server (Kestrel) with one request sent through the application in process while Kestrel binds: the
/// first request builds the route matcher over every endpoint (~230: a DFA, JIT-compiling its builder's generic code), which
/// cost the first real request ~60–80 ms on a start (bench/README.md, issue 19). Requests arriving meanwhile wait for that
/// same matcher (the routing middleware builds it once), so none fails. The warm request is a <c>GET /healthz</c>: it reads
/// nothing and changes nothing, and its answer goes nowhere (the response feature has no callbacks, so the start trace's
/// "first answer" is still the first real one).
/// </summary>
internal sealed class WarmRequestServer(IServer inner, ILogger<WarmRequestServer> logger) : IServer
{
    private readonly TaskCompletionSource _warmed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IFeatureCollection Features => inner.Features;

    /// <summary>Completes when the warm request has passed (or failed): the stored flows' build waits for it.</summary>
    public Task Warmed => _warmed.Task;

    /// <summary>The warm request's status code once it has passed (0 when it failed).</summary>
    internal int WarmStatus { get; private set; }

    /// <summary>Wraps the registered server (the last <see cref="IServer"/> registration) in one of these.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var index = -1;
        for (var i = 0; i < services.Count; i++)
        {
            if (services[i].ServiceType == typeof(IServer) && !services[i].IsKeyedService)
            {
                index = i;
            }
        }
        if (index < 0)
        {
            return;
        }
        var original = services[index];
        services[index] = ServiceDescriptor.Singleton<IServer>(sp =>
            new WarmRequestServer(DecoratedService.Create<IServer>(sp, original), sp.GetRequiredService<ILogger<WarmRequestServer>>()));
    }

    public async Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull
    {
        StartTrace.Mark("server start");
        _ = Task.Factory.StartNew(() => Warm(application), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await inner.StartAsync(application, cancellationToken).ConfigureAwait(false);
        StartTrace.Mark("server bound");
    }

    public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);

    public void Dispose() => inner.Dispose();

    private void Warm<TContext>(IHttpApplication<TContext> application) where TContext : notnull
    {
        var features = new FeatureCollection();
        var request = new HttpRequestFeature { Method = "GET", Scheme = "http", Protocol = "HTTP/1.1", Path = "/healthz" };
        request.Headers.Host = "127.0.0.1";
        features.Set<IHttpRequestFeature>(request);
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        Exception? error = null;
        TContext? context = default;
        try
        {
            context = application.CreateContext(features);
            application.ProcessRequestAsync(context).GetAwaiter().GetResult();
            WarmStatus = features.Get<IHttpResponseFeature>()!.StatusCode;
            StartTrace.Mark("warm request");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Only a lost head start: the first real request builds what this one would have.
            error = ex;
            logger.LogDebug(ex, "The start's warm request failed");
        }
        finally
        {
            if (context is not null)
            {
                application.DisposeContext(context, error);
            }
            _warmed.TrySetResult();
        }
    }
}
