using System.Diagnostics;
using System.Text.Json.Nodes;
using FlowFleet.Runtime;
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

    public static async Task RunAsync(string file, int rounds)
    {
        var flows = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsArray();
        var dir = Directory.CreateTempSubdirectory("flowfleet-deploy-").FullName;
        await using var fixture = new EngineFixture();
        var storage = new FileFlowStorage(Path.Combine(dir, "flows.json"));
        var history = new SqliteFlowHistory(Path.Combine(dir, "history.db"));
        var service = new FlowService(fixture.Engine, storage, history: history);
        var stages = new Dictionary<string, List<double>>();
        void Add(string name, double ms) => (stages.TryGetValue(name, out var l) ? l : stages[name] = []).Add(ms);
        for (var round = 0; round < rounds; round++)
        {
            foreach (var type in new[] { DeployType.Full, DeployType.Nodes })
            {
                var target = flows.OfType<JsonObject>().First(n => (string?)n["type"] == "function");
                target["func"] = $"msg.payload = msg.payload * {round + 3};\nreturn msg;";
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                await service.DeployAsync(flows, type);
                Add($"{type} deploy (FlowService)", sw.Elapsed.TotalMilliseconds);
                Add($"{type} deploy CPU", (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds);
            }
            // Stages in CPU time of the process (wall time on a shared machine says more about the neighbours).
            var t = Cpu();
            var doc = FlowDocument.From(flows);
            Add("stage CPU: FlowDocument.From", Cpu() - t);
            t = Cpu();
            await storage.SaveAsync(doc.Raw);
            Add("stage CPU: save flows.json", Cpu() - t);
            t = Cpu();
            await history.RecordAsync(doc.Raw, doc.Rev, "full", null, default, doc.Json);
            Add("stage CPU: history record", Cpu() - t);
            t = Cpu();
            await fixture.Engine.DeployAsync(doc, DeployType.Nodes);
            Add("stage CPU: engine nodes deploy, nothing changed", Cpu() - t);
        }
        foreach (var (name, values) in stages)
        {
            var warm = values.Skip(values.Count > 3 ? 2 : 0).Order().ToList();
            Console.WriteLine($"{name}: median {warm[warm.Count / 2]:0.0} ms (first {values[0]:0.0}, min {warm[0]:0.0})");
        }
    }
}
