using System.Diagnostics;
using System.Globalization;
using System.Text;
using FlowFleet.Runtime;
using FlowFleet.Server.Red;

namespace FlowFleet.Server.Ops;

/// <summary><c>/healthz</c> (anonymous) and <c>/metrics</c> in Prometheus text format.</summary>
public static class OpsApi
{
    public static void MapOps(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", (FlowEngine engine, Runtime.Storage.FlowService flows) =>
                Results.Json(new { status = "ok", flows = engine.Started ? "started" : "stopped", safeMode = flows.SafeModeReason is not null, rev = engine.Rev }))
            .AllowAnonymous().WithName("Health");
        app.MapGet("/metrics", (FlowEngine engine, CommsHub comms, Hosting.DeployTrimmer trimmer) => Results.Text(Render(engine, comms, trimmer.Trims), "text/plain; version=0.0.4; charset=utf-8"))
            .WithName("Metrics");
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

    public static string Render(FlowEngine engine, CommsHub comms, long deployTrims = 0)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var sb = new StringBuilder();
        void Metric(string name, string help, string type, IEnumerable<(string Labels, double Value)> samples)
        {
            sb.Append("# HELP ").Append(name).Append(' ').AppendLine(help);
            sb.Append("# TYPE ").Append(name).Append(' ').AppendLine(type);
            foreach (var (labels, value) in samples)
            {
                sb.Append(name).Append(labels).Append(' ').AppendLine(value.ToString(CultureInfo.InvariantCulture));
            }
        }
        var byType = engine.Metrics.ByType.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        Metric("flowfleet_messages_in_total", "Messages handled, per node type", "counter", byType.Select(kv => (Label("type", kv.Key), (double)kv.Value.In)));
        Metric("flowfleet_messages_out_total", "Messages sent, per node type", "counter", byType.Select(kv => (Label("type", kv.Key), (double)kv.Value.Out)));
        Metric("flowfleet_node_errors_total", "Node errors, per node type", "counter", byType.Select(kv => (Label("type", kv.Key), (double)kv.Value.Errors)));
        Metric("flowfleet_queue_full_total", "Times a sender waited for a full queue, per node type", "counter", byType.Select(kv => (Label("type", kv.Key), (double)kv.Value.QueueFull)));
        Metric("flowfleet_messages_dropped_total", "Messages dropped because a node's queue stayed full, per node type", "counter", byType.Select(kv => (Label("type", kv.Key), (double)kv.Value.Dropped)));
        Metric("flowfleet_comms_dropped_total", "Debug and status messages dropped for editors that could not keep up", "counter", [("", CommsConnection.DroppedTotal)]);
        Metric("flowfleet_memory_trims_total", "Memory given back after large deploys", "counter", [("", deployTrims)]);
        var nodes = engine.Nodes.ToList();
        Metric("flowfleet_queue_depth", "Messages waiting, per node type", "gauge",
            nodes.GroupBy(n => n.Type).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (Label("type", g.Key), (double)g.Sum(n => n.QueueDepth))));
        Metric("flowfleet_nodes", "Running nodes", "gauge", [("", nodes.Count)]);
        Metric("flowfleet_flows_started", "1 when flows run", "gauge", [("", engine.Started ? 1 : 0)]);
        Metric("flowfleet_comms_connections", "Editor websocket connections", "gauge", [("", comms.ConnectionCount)]);
        using var process = Process.GetCurrentProcess();
        Metric("process_resident_memory_bytes", "Resident memory", "gauge", [("", process.WorkingSet64)]);
        Metric("process_cpu_seconds_total", "CPU time", "counter", [("", process.TotalProcessorTime.TotalSeconds)]);
        Metric("dotnet_gc_heap_bytes", "Managed heap size", "gauge", [("", GC.GetTotalMemory(false))]);
        Metric("dotnet_gc_pause_seconds_total", "Time the process was paused by garbage collections", "counter", [("", GC.GetTotalPauseDuration().TotalSeconds)]);
        Metric("dotnet_gc_collections_total", "GC collections per generation", "counter",
            Enumerable.Range(0, GC.MaxGeneration + 1).Select(g => (Label("generation", g.ToString(CultureInfo.InvariantCulture)), (double)GC.CollectionCount(g))));
        return sb.ToString();
    }

    private static string Label(string name, string value) => "{" + name + "=\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"}";
}
