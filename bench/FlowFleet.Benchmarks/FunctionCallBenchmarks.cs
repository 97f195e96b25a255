using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Benchmarks;

/// <summary>Cost of one function-node call: message into Jint, the script, the result back out, routed to a sink.</summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class FunctionCallBenchmarks
{
    private const int Messages = 10_000;
    private EngineFixture _fx = null!;
    private SinkNode _sink = null!;
    private FlowMessage[] _inputs = [];

    [Params("return msg;", "msg.payload.watts = msg.payload.apower * 2; return msg;", "const c = (flow.get('c') || 0) + 1; flow.set('c', c); return null;")]
    public string Code { get; set; } = "return msg;";

    [GlobalSetup]
    public void Setup()
    {
        _fx = new EngineFixture();
        _fx.Engine.Registry.Register<SinkNode>();
        _fx.DeployAsync($$"""
            [{"id":"t","type":"tab"},
             {"id":"fn","type":"function","z":"t","func":{{JsonValue.Create(Code).ToJsonString()}},"x":0,"y":0,"wires":[["sink"]]},
             {"id":"after","type":"function","z":"t","func":"return msg;","x":0,"y":0,"wires":[["sink"]]},
             {"id":"sink","type":"bench-sink","z":"t","x":0,"y":0,"wires":[]}]
            """).GetAwaiter().GetResult();
        _sink = (SinkNode)_fx.Engine.GetNode("sink")!;
        _inputs = Enumerable.Range(0, Messages)
            .Select(i => FlowMessage.Create(new JsonObject { ["seq"] = i, ["apower"] = i / 10.0, ["output"] = i % 2 == 0 }, "device/" + (i % 100)))
            .ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _fx.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task Function_call()
    {
        // Scripts that return null never reach the sink: a trailing marker message through "after" closes the round.
        var done = _sink.Expect(Code.Contains("return null", StringComparison.Ordinal) ? 1 : Messages + 1);
        foreach (var m in _inputs)
        {
            _fx.Engine.Deliver("fn", m.Clone());
        }
        _fx.Engine.Deliver("fn", FlowMessage.Create(JsonValue.Create("end")));
        if (Code.Contains("return null", StringComparison.Ordinal))
        {
            _fx.Engine.Deliver("after", FlowMessage.Create(JsonValue.Create("marker")));
        }
        await done.WaitAsync(TimeSpan.FromMinutes(1));
    }
}
