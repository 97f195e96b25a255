using System.Diagnostics;
using System.Text.Json.Serialization;
using FlowFleet.Runtime;

namespace FlowFleet.Server.Ops;

/// <summary><c>/healthz</c> (anonymous), <c>/metrics</c> (see <see cref="MetricsSetup"/>) and the operators' garbage collection.</summary>
public static class OpsApi
{
    public static void MapOps(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", (FlowEngine engine, Runtime.Storage.FlowService flows, HttpContext http) =>
                http.RequestServices.GetService<global::FlowFleet.Fleet.Cluster.NatsCluster>() is { } cluster
                    ? Results.Json(new { status = "ok", flows = FlowsState(engine, flows), safeMode = flows.SafeModeReason is not null, rev = engine.Rev, cluster = cluster.Describe() })
                    : Results.Json(new Health("ok", FlowsState(engine, flows), flows.SafeModeReason is not null, engine.Rev), HealthJson.Default.Health))
            .AllowAnonymous().WithName("Health");
        // "starting" while the stored flows are built after the server began to listen (FlowRuntimeService), and while the
        // nodes of a deploy that has answered are built (FlowEngine.BeginDeployAsync).
        static string FlowsState(FlowEngine engine, Runtime.Storage.FlowService flows) =>
            !flows.Starting.IsCompleted || !engine.Ready.IsCompleted ? "starting" : engine.Started ? "started" : "stopped";
        // Same path and auth as before (the fallback policy: any signed-in user or token); the exporter writes the text.
        app.MapMetrics("/metrics").WithName("Metrics");
        app.MapPost("/api/ops/gc", () =>
        {
            // A full compacting collection, for operators (and benchmarks) asking how much memory is really live.
            using var before = Process.GetCurrentProcess();
            var heapBefore = GC.GetTotalMemory(false);
            var rssBefore = before.WorkingSet64;
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            // Aggressive: also gives the memory the GC keeps committed for later back to the system.
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            Hosting.NativeHeap.Trim();
            using var after = Process.GetCurrentProcess();
            var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
            string[] names = ["gen0", "gen1", "gen2", "loh", "poh"];
            var generations = info.GenerationInfo.ToArray().Select((g, i) => new { name = i < names.Length ? names[i] : "gen" + i, sizeAfter = g.SizeAfterBytes });
            return Results.Json(new
            {
                heapBefore, heapAfter = GC.GetTotalMemory(false), rssBefore, rssAfter = after.WorkingSet64, committed = info.TotalCommittedBytes,
                fragmented = info.FragmentedBytes, generations,
            });
        }).RequireAuthorization(Server.Auth.Policies.UsersAdmin).WithName("CollectGarbage");
    }
}

/// <summary>
/// <c>/healthz</c>'s answer (outside a cluster), serialized by generated code: the first answer of a start is this one, and
/// an anonymous type cost it the serializer's reflection and emitted accessors (bench/README.md, issue 19, start-up).
/// </summary>
internal sealed record Health(string Status, string Flows, bool SafeMode, string Rev);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Health))]
internal sealed partial class HealthJson : JsonSerializerContext;
