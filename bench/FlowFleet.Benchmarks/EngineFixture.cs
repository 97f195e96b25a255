using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Benchmarks;

/// <summary>A real engine with the core nodes, as the server builds it, for in-process measurements.</summary>
public sealed class EngineFixture : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public EngineFixture()
    {
        var sc = new ServiceCollection();
        sc.AddFlowRuntime(Path.GetTempPath(), typeof(FlowFleet.Nodes.Core.Function.FunctionNode).Assembly);
        if (int.TryParse(Environment.GetEnvironmentVariable("BENCH_QUEUE"), out var capacity))
        {
            sc.Configure<FlowEngineOptions>(o => o.QueueCapacity = capacity);
        }
        _services = sc.BuildServiceProvider();
        Engine = _services.GetRequiredService<FlowEngine>();
    }

    public FlowEngine Engine { get; }

    public Task DeployAsync(string json) => Engine.DeployAsync(JsonNode.Parse(json)!);

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        await _services.DisposeAsync();
    }
}
