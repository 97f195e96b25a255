using System.Diagnostics;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Benchmarks;

/// <summary>
/// Runs <c>shared/bench/throughput-flow.json</c> (without its HTTP nodes) in process: one inject triggers N messages through
/// function → change → switch → function → function; prints msgs/s as the flow itself measures it.
/// </summary>
public static class ThroughputRun
{
    public static async Task<double> RunAsync(string flowFile, int count, int rounds)
    {
        var flows = JsonNode.Parse(await File.ReadAllTextAsync(flowFile))!.AsArray();
        foreach (var n in flows.Where(n => n!["type"]!.GetValue<string>().StartsWith("http", StringComparison.Ordinal)).ToList())
        {
            flows.Remove(n);
        }
        foreach (var n in flows.Where(n => n!["id"]!.GetValue<string>() == "resultFn").ToList())
        {
            flows.Remove(n);
        }
        await using var fx = new EngineFixture();
        await fx.Engine.DeployAsync(flows);
        var best = 0.0;
        using var sampler = Environment.GetEnvironmentVariable("BENCH_ALLOC") == "1" ? new AllocationSampler() : null;
        for (var r = 0; r < rounds; r++)
        {
            var pause0 = GC.GetTotalPauseDuration();
            var (g0, g1, g2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var (jitCount0, jitTime0) = (System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime());
            var alloc0 = GC.GetTotalAllocatedBytes();
            var sw = Stopwatch.StartNew();
            fx.Engine.Inject("start", new JsonArray(new JsonObject { ["p"] = "payload", ["v"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture), ["vt"] = "num" }));
            var host = fx.Engine.GetHost("count")!;
            while (JsonTools.ToNumber(host.FlowContext.Get("end")) < JsonTools.ToNumber(host.FlowContext.Get("start")) || host.FlowContext.Get("end") is null)
            {
                if (sw.Elapsed > TimeSpan.FromMinutes(2))
                {
                    throw new TimeoutException("throughput run did not finish");
                }
                await Task.Delay(20);
            }
            var elapsed = JsonTools.ToNumber(host.FlowContext.Get("end")) - JsonTools.ToNumber(host.FlowContext.Get("start"));
            var rate = count * 1000.0 / Math.Max(1, elapsed);
            best = Math.Max(best, rate);
            Console.WriteLine($"round {r + 1}: msgs_per_s={rate:0} elapsed_ms={elapsed} count={JsonTools.ToNumber(host.FlowContext.Get("count"))} wall_ms={sw.ElapsedMilliseconds} gc_pause_ms={(GC.GetTotalPauseDuration() - pause0).TotalMilliseconds:0} cores={(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / sw.ElapsedMilliseconds:0.00} gcs={GC.CollectionCount(0) - g0}/{GC.CollectionCount(1) - g1}/{GC.CollectionCount(2) - g2} cpu_ms={(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds:0} jit={System.Runtime.JitInfo.GetCompiledMethodCount() - jitCount0} methods/{(System.Runtime.JitInfo.GetCompilationTime() - jitTime0).TotalMilliseconds:0} ms alloc_mb={(GC.GetTotalAllocatedBytes() - alloc0) >> 20}");
            host.FlowContext.Set("end", null);
            foreach (var (type, bytes) in sampler?.Take(25) ?? [])
            {
                Console.WriteLine($"  {bytes / (double)Math.Max(1, count):0} B/msg ~{bytes >> 20} MiB {type}");
            }

        }
        return best;
    }
}
