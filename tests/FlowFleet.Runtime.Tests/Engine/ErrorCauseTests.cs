using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Runtime.Tests.Engine;

public sealed class ErrorCauseTests
{
    [Fact]
    public async Task A_node_that_throws_reaches_catch_nodes_and_the_log_with_its_own_exception_and_stack()
    {
        var logs = new CapturingLoggerProvider();
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"f","type":"test-fail","z":"t","x":0,"y":0,"wires":[]},
         {"id":"c","type":"test-catch","z":"t","scope":null,"x":0,"y":0,"wires":[["a"]]},
         {"id":"a","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """, services: sc => sc.AddLogging(b => b.AddProvider(logs)));
        h.Send("f", JsonValue.Create("boom"));
        Assert.Equal("failed: boom", (await h.NextAsync("a")).Data["error"]!["message"]!.GetValue<string>());
        var logged = Assert.Single(logs.Entries, e => e.Exception is not null);
        Assert.IsType<InvalidOperationException>(logged.Exception);
        // The stack is the node's own: it names the method that threw, not a rethrow site.
        Assert.Contains(nameof(FailNode.OnInputAsync), logged.Exception!.StackTrace, StringComparison.Ordinal);
    }

    [Fact]
    public void A_subscriber_that_throws_is_logged_and_the_others_still_run()
    {
        var logs = new CapturingLoggerProvider();
        var notifier = new Notifier<int>(logs.CreateLogger("test"));
        var seen = new List<int>();
        using var bad = notifier.Subscribe(_ => throw new InvalidOperationException("subscriber broke"));
        using var good = notifier.Subscribe(seen.Add);
        notifier.Publish(7);
        Assert.Equal([7], seen);
        Assert.Equal(1, notifier.Failed);
        Assert.Equal("subscriber broke", Assert.Single(logs.Entries).Exception!.Message);
    }

    [Fact]
    public void A_node_constructor_that_throws_fails_with_its_own_exception_not_a_wrapper()
    {
        var registry = new FlowFleet.Runtime.Nodes.NodeRegistry().Register<ThrowingCtorNode>("test");
        var ex = Assert.Throws<ArgumentException>(() => registry.Find("test-throwing-ctor")!.Create(
            new FlowFleet.Runtime.Nodes.NodeFactoryContext(new JsonObject(), null!, new ServiceCollection().BuildServiceProvider())));
        Assert.Contains(nameof(ThrowingCtorNode), ex.StackTrace, StringComparison.Ordinal);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentBag<(string Category, string Message, Exception? Exception)> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Entries.Add((category, formatter(state, exception), exception));
        }
    }
}

[FlowFleet.Runtime.Nodes.NodeType("test-throwing-ctor", Category = "test")]
public sealed class ThrowingCtorNode : FlowFleet.Runtime.Nodes.FlowNode
{
    public ThrowingCtorNode() => throw new ArgumentException("bad config");

    public override ValueTask OnInputAsync(FlowFleet.Runtime.Messages.FlowMessage msg, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
