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
        return services;
    }
}
