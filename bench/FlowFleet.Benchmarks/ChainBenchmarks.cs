using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Benchmarks;

/// <summary>Messages per second through node chains, in process (no HTTP).</summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class ChainBenchmarks
{
    private const int Messages = 20_000;
    private EngineFixture _fx = null!;
    private SinkNode _sink = null!;

    [Params("function", "passthrough")]
    public string Chain { get; set; } = "function";

    [GlobalSetup]
    public void Setup()
    {
        _fx = new EngineFixture();
        _fx.Engine.Registry.Register<SinkNode>();
        var middle = Chain == "function"
            ? "{\"id\":\"n2\",\"type\":\"function\",\"z\":\"t\",\"func\":\"msg.payload.watts = msg.payload.apower * 2; return msg;\",\"x\":0,\"y\":0,\"wires\":[[\"n3\"]]}," +
              "{\"id\":\"n3\",\"type\":\"function\",\"z\":\"t\",\"func\":\"return msg;\",\"x\":0,\"y\":0,\"wires\":[[\"sink\"]]}"
            : "{\"id\":\"n2\",\"type\":\"junction\",\"z\":\"t\",\"x\":0,\"y\":0,\"wires\":[[\"n3\"]]}," +
              "{\"id\":\"n3\",\"type\":\"junction\",\"z\":\"t\",\"x\":0,\"y\":0,\"wires\":[[\"sink\"]]}";
        _fx.DeployAsync($$$"""
            [{"id":"t","type":"tab"},
             {"id":"burst","type":"function","z":"t","func":"for (let i = 0; i < msg.payload; i++) node.send({payload:{seq:i, apower:(i % 1000) / 10}}, false); return null;","x":0,"y":0,"wires":[["n2"]]},
             {{{middle}}},
             {"id":"sink","type":"bench-sink","z":"t","x":0,"y":0,"wires":[]}]
            """).GetAwaiter().GetResult();
        _sink = (SinkNode)_fx.Engine.GetNode("sink")!;
    }

    [GlobalCleanup]
    public void Cleanup() => _fx.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task Chain_of_nodes()
    {
        var done = _sink.Expect(Messages);
        _fx.Engine.Deliver("burst", FlowMessage.Create(JsonValue.Create(Messages)));
        await done.WaitAsync(TimeSpan.FromMinutes(1));
    }
}
