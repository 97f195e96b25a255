using System.Diagnostics;
using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Engine;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Storage;

namespace FlowFleet.Benchmarks;

/// <summary>
/// Deploys of a big flow (<c>make-big-flow.py N</c>) in process, as the server runs them (file storage, history), with the
/// time of each stage: parse and validate, save, history, engine. Figures are medians; CPU is the whole process's.
/// </summary>
public static class DeployRun
{
    private static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;

    /// <summary>Reads every string of the tree, as the admin API does to refuse lone surrogates.</summary>
    private static void Touch(JsonNode? n)
    {
        switch (n)
        {
            case JsonObject o:
                foreach (var (_, v) in o)
                {
                    Touch(v);
                }
                break;
            case JsonArray a:
                foreach (var v in a)
                {
                    Touch(v);
                }
                break;
            case JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String:
                _ = v.GetValue<string>();
                break;
        }
    }

    private static long s_exceptions;

    public static async Task RunAsync(string file, int rounds)
    {
        AppDomain.CurrentDomain.FirstChanceException += (_, _) => Interlocked.Increment(ref s_exceptions);
        var flows = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsArray();
        var dir = Directory.CreateTempSubdirectory("flowfleet-deploy-").FullName;
        await using var fixture = new EngineFixture();
        var storage = new FileFlowStorage(Path.Combine(dir, "flows.json"));
        var history = new SqliteFlowHistory(Path.Combine(dir, "history.db"));
        var service = new FlowService(fixture.Engine, storage, history: history);
        var stages = new Dictionary<string, List<double>>();
        // BENCH_MEMO=0: every deploy's document made alone (the admin API takes objects sent as last time from the last one).
        var memo = Environment.GetEnvironmentVariable("BENCH_MEMO") == "0" ? null : new FlowDocumentMemo();
        void Add(string name, double ms) => (stages.TryGetValue(name, out var l) ? l : stages[name] = []).Add(ms);
        // BENCH_ALLOC=1: where each deploy type's bytes go, by type (sampled allocation ticks, summed over the rounds).
        using var sampler = Environment.GetEnvironmentVariable("BENCH_ALLOC") == "1" ? new AllocationSampler() : null;
        var sampled = new Dictionary<string, Dictionary<string, long>>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var type in new[] { DeployType.Full, DeployType.Nodes })
            {
                var target = flows.OfType<JsonObject>().First(n => (string?)n["type"] == "function");
                target["func"] = $"msg.payload = msg.payload * {round + 3};\nreturn msg;";
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var request = System.Text.Encoding.UTF8.GetBytes(flows.ToJsonString());
                var exceptions0 = Interlocked.Read(ref s_exceptions);
                var items0 = ThreadPool.CompletedWorkItemCount;
                sampler?.Take(0);
                var a0 = GC.GetTotalAllocatedBytes(precise: true);
                var sw = Stopwatch.StartNew();
                // As the admin API does: the body's check pass notes where each item is, then the document is made item by item,
                // objects sent as last time taken from the last document (BENCH_MEMO=0: the body parsed whole, then adopted).
                var items = new List<(int Start, int Length)>();
                var reader = new System.Text.Json.Utf8JsonReader(request);
                var objectStart = -1;
                while (reader.Read())
                {
                    if (reader.CurrentDepth == 1)
                    {
                        FlowDocumentMemo.NoteItem(ref reader, items, ref objectStart);
                    }
                }
                var document = memo is null ? FlowDocument.Adopt(JsonNode.Parse(request)!.AsArray()) : memo.Adopt(request, items);
                var progress = await service.BeginDeployAsync(document, type, null, null);
                Add($"{type} deploy (FlowService, to the answer)", sw.Elapsed.TotalMilliseconds);
                await progress.Started;
                Add($"{type} deploy (nodes running)", sw.Elapsed.TotalMilliseconds);
                await service.HistoryWritten;
                Add($"{type} deploy (history written)", sw.Elapsed.TotalMilliseconds);
                Add($"{type} deploy (KB allocated)", (GC.GetTotalAllocatedBytes(precise: true) - a0) / 1024.0);
                if (sampler is not null && round > 0)
                {
                    var byType = sampled.TryGetValue(type.ToString(), out var d) ? d : sampled[type.ToString()] = [];
                    foreach (var (name, bytes) in sampler.Take(int.MaxValue))
                    {
                        byType[name] = byType.GetValueOrDefault(name) + bytes;
                    }
                }
                Add($"{type} deploy CPU", (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds);
                Add($"{type} deploy (exceptions thrown)", Interlocked.Read(ref s_exceptions) - exceptions0);
                Add($"{type} deploy (thread-pool items run)", ThreadPool.CompletedWorkItemCount - items0);
            }
            // Stages one at a time: wall time on this thread (the minimum is what load does not inflate) and bytes allocated.
            var body = System.Text.Encoding.UTF8.GetBytes(flows.ToJsonString());
            JsonNode? parsed = null;
            Stage("stage: parse request body (JsonNode + read every string)", () => { parsed = JsonNode.Parse(body); Touch(parsed); return Task.CompletedTask; });
            FlowDocument doc = null!;
            Stage("stage: FlowDocument.Adopt", () => { doc = FlowDocument.Adopt(parsed); return Task.CompletedTask; });
            Stage("stage: save flows.json", () => storage.SaveAsync(doc));
            Stage("stage: history record", () => history.RecordAsync(doc.Raw, doc.Rev, "full", null, default, doc.Utf8Json));
            Stage("stage: DeployPlanner.Plan", () => { DeployPlanner.Plan(doc); return Task.CompletedTask; });
            Stage("stage: engine nodes deploy, nothing changed", () => fixture.Engine.DeployAsync(doc, DeployType.Nodes));
            Stage("stage: engine stop every node", () => fixture.Engine.StopFlowsAsync());
            Stage("stage: engine start every node", () => fixture.Engine.StartFlowsAsync());
        }
        void Stage(string name, Func<Task> run)
        {
            var a0 = GC.GetTotalAllocatedBytes(precise: true);
            var sw = Stopwatch.StartNew();
            run().GetAwaiter().GetResult();
            Add(name, sw.Elapsed.TotalMilliseconds);
            Add(name + " (KB allocated)", (GC.GetTotalAllocatedBytes(precise: true) - a0) / 1024.0);
        }
        foreach (var (name, values) in stages)
        {
            var warm = values.Skip(values.Count > 3 ? 2 : 0).Order().ToList();
            var unit = name.EndsWith("allocated)", StringComparison.Ordinal) || name.EndsWith("thrown)", StringComparison.Ordinal) || name.EndsWith("run)", StringComparison.Ordinal) ? "" : " ms";
            Console.WriteLine($"{name}: median {warm[warm.Count / 2]:0.0}{unit} (first {values[0]:0.0}, min {warm[0]:0.0})");
        }
        foreach (var (type, byType) in sampled)
        {
            Console.WriteLine($"{type} deploy, sampled KB per deploy by type:");
            foreach (var (name, bytes) in byType.OrderByDescending(kv => kv.Value).Take(int.TryParse(Environment.GetEnvironmentVariable("BENCH_ALLOC_TOP"), out var top) ? top : 25))
            {
                Console.WriteLine($"  {bytes / 1024.0 / (rounds - 1),8:0.0}  {name}");
            }
        }
    }
}
