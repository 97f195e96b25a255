using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace FlowFleet.Server.Ops;

/// <summary>
/// <c>/metrics</c>: the engine, fleet and server publish .NET <see cref="Meter"/>s; the OpenTelemetry SDK aggregates them and
/// its Prometheus exporter writes the exposition (names: <c>flowfleet.messages.in</c> becomes
/// <c>flowfleet_messages_in_total</c>): every meter named <c>FlowFleet.*</c> (<c>FlowFleet.Engine</c>, <c>FlowFleet.Fleet</c>,
/// <c>FlowFleet.Server</c>, <c>FlowFleet.Cluster</c>). The runtime's own <c>System.Runtime</c> meter supplies GC, CPU and memory figures.
/// </summary>
public static class MetricsSetup
{
    /// <summary>The meter of the server's own instruments (editor comms, memory trims).</summary>
    public const string ServerMeter = "FlowFleet.Server";

    private const string RuntimeMeter = "System.Runtime";

    /// <summary>
    /// Tag combinations kept per instrument. The SDK allocates every stream's points up front, 2,000 by default: ~256 KiB
    /// per instrument, 11 MiB resident for the 43 streams /metrics serves (the largest live item of an idle server, measured
    /// with dotnet-gcdump). FlowFleet's tags are few (deploy type, record kind, node type, cluster instance, the runtime's
    /// GC generation); a combination beyond the limit is still counted, under OpenTelemetry's overflow tag.
    /// </summary>
    internal const int CardinalityLimit = 500;

    private static readonly MetricStreamConfiguration s_stream = new() { CardinalityLimit = CardinalityLimit };

    public static IServiceCollection AddFlowFleetMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("flowfleet"))
            .WithMetrics(metrics =>
            {
                // Every FlowFleet meter (engine, fleet, server, cluster, plugins that follow the naming) and the runtime's.
                metrics.AddMeter("FlowFleet.*", RuntimeMeter)
                    // Each scrape reads the current values: tests (and operators) see a deploy or a device at once.
                    .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
                // A MeterListener sees every meter of that name in the process. Several hosts in one process (tests, tools
                // embedding the server) each create theirs from their own IMeterFactory: export only this host's.
                if (metrics is IDeferredMeterProviderBuilder deferred)
                {
                    deferred.Configure((sp, b) =>
                    {
                        var own = sp.GetRequiredService<IMeterFactory>();
                        b.AddView(i => i.Meter.Name == RuntimeMeter || ReferenceEquals(i.Meter.Scope, own) ? s_stream : MetricStreamConfiguration.Drop);
                    });
                }
            });
        // OpenTelemetry builds the meter provider as the host starts — its hosted service does, and so does its bridge to
        // Microsoft.Extensions.Diagnostics' metrics listeners (the host activates those at start): its listener, the
        // runtime meter and the exporter, ~25 ms of a start's CPU before the first answer. The provider subscribes to the
        // meters above by its own listener; the bridge only serves IMetricsBuilder rules, which nothing here uses. Every
        // instrument the server, the engine and the fleet publish is observable (read at the scrape), so a provider built
        // by the first scrape (MapMetrics) loses nothing of theirs; the runtime's event counters (dotnet.exceptions) count
        // from then on.
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ImplementationType?.FullName is { } type && EagerStart.Contains(type))
            {
                services.RemoveAt(i);
            }
        }
        return services;
    }

    /// <summary>The services OpenTelemetry registers that build its providers when the host starts.</summary>
    internal static readonly string[] EagerStart =
    [
        "OpenTelemetry.Extensions.Hosting.Implementation.TelemetryHostedService",
        "OpenTelemetry.Metrics.OpenTelemetryMetricsListener",
    ];

    /// <summary>
    /// <c>/metrics</c>: OpenTelemetry's scraping endpoint, built by the first request instead of when it is mapped (mapping it
    /// resolves the meter provider, which would build it during the start).
    /// </summary>
    public static IEndpointConventionBuilder MapMetrics(this IEndpointRouteBuilder app, string path)
    {
        var scrape = new Lazy<RequestDelegate>(() => app.CreateApplicationBuilder()
            .UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider: null, predicate: _ => true, path: null, configureBranchedPipeline: null, optionsName: null)
            .Build());
        return app.Map(path, context => scrape.Value(context));
    }
}
