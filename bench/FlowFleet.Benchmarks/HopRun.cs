using System.Diagnostics;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Benchmarks;

/// <summary>Quick per-hop figures (Stopwatch): N messages through a chain of a given node type.</summary>
public static class HopRun
{
    public static async Task RunAsync(string type, int hops, int count)
    {
        await using var fx = new EngineFixture();
        fx.Engine.Registry.Register<SinkNode>();
        fx.Engine.Registry.Register<PassNode>();
        var nodes = new List<string> { """{"id":"t","type":"tab"}""" };
        for (var i = 0; i < hops; i++)
        {
            var code = Environment.GetEnvironmentVariable("BENCH_FUNC") ?? "return msg;";
            var extra = type == "function" ? ",\"func\":" + System.Text.Json.JsonSerializer.Serialize(code) : "";
            nodes.Add($$"""{"id":"n{{i}}","type":"{{type}}","z":"t"{{extra}},"x":0,"y":0,"wires":[["{{(i + 1 < hops ? "n" + (i + 1) : "sink")}}"]]}""");
        }
        nodes.Add("""{"id":"sink","type":"bench-sink","z":"t","x":0,"y":0,"wires":[]}""");
        await fx.DeployAsync("[" + string.Join(",", nodes) + "]");
        var sink = (SinkNode)fx.Engine.GetNode("sink")!;
        for (var round = 0; round < 3; round++)
        {
            var done = sink.Expect(count);
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                fx.Engine.Deliver("n0", FlowMessage.Create(new JsonObject { ["seq"] = i, ["apower"] = i / 10.0 }, "device/1"));
            }
            await done.WaitAsync(TimeSpan.FromMinutes(2));
            Console.WriteLine($"{type} x{hops}: {count * 1000.0 / sw.ElapsedMilliseconds:0} msgs/s, {sw.Elapsed.TotalMicroseconds / count / hops:0.00} us per hop");
        }
    }
}
