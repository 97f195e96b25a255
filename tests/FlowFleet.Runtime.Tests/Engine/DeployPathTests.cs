using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Storage;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Runtime.Tests.Engine;

/// <summary>The deploy path's shortcuts keep what a deploy did before: the same rev and file, and a history entry per deploy.</summary>
public sealed class DeployPathTests
{
    /// <summary>A history whose writes wait until the test opens the gate.</summary>
    private sealed class GatedHistory(IFlowHistory inner) : IFlowHistory
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SemaphoreSlim Entered { get; } = new(0);

        public Notifier<FlowVersionInfo> Recorded => inner.Recorded;

        public async Task<FlowVersionInfo> RecordAsync(JsonArray flows, string rev, string type, DeployInfo? info, CancellationToken cancellationToken = default,
            ReadOnlyMemory<byte> json = default)
        {
            Entered.Release();
            await Gate.Task;
            return await inner.RecordAsync(flows, rev, type, info, cancellationToken, json);
        }

        public Task<IReadOnlyList<FlowVersionInfo>> ListAsync(int limit = 1000, CancellationToken cancellationToken = default) => inner.ListAsync(limit, cancellationToken);

        public Task<FlowVersion?> GetAsync(long version, CancellationToken cancellationToken = default) => inner.GetAsync(version, cancellationToken);

        public Task<FlowVersion?> FindByRevAsync(string rev, CancellationToken cancellationToken = default) => inner.FindByRevAsync(rev, cancellationToken);
    }

    private static string Flow(string name) =>
        $$"""[{"id":"t","type":"tab"},{"id":"c","type":"test-counter","z":"t","name":"{{name}}","x":0,"y":0,"wires":[]}]""";

    [Fact]
    public async Task A_deploy_answers_before_its_history_version_is_written_and_the_history_still_shows_it_in_order()
    {
        var dir = Directory.CreateTempSubdirectory("ff-deploypath-").FullName;
        var sc = new ServiceCollection();
        sc.AddFlowRuntime(dir, typeof(DeployPathTests).Assembly);
        await using var provider = sc.BuildServiceProvider();
        var history = new GatedHistory(new SqliteFlowHistory(Path.Combine(dir, "history.db")));
        var flows = new FlowService(provider.GetRequiredService<FlowEngine>(), new FileFlowStorage(Path.Combine(dir, "flows.json")), history: history);

        // Both deploys answer while the history cannot write at all: its write is off the response path.
        var first = await flows.DeployAsync(JsonNode.Parse(Flow("one"))!, DeployType.Full, null, new DeployInfo("ann", "first")).WaitAsync(FlowHarness.DefaultTimeout);
        var second = await flows.DeployAsync(JsonNode.Parse(Flow("two"))!, DeployType.Nodes, null, new DeployInfo("bob", "second")).WaitAsync(FlowHarness.DefaultTimeout);
        Assert.True(await history.Entered.WaitAsync(FlowHarness.DefaultTimeout));
        Assert.Equal(second.Rev, flows.Engine.Rev);

        // A read waits for the versions queued before it.
        var listed = flows.History!.ListAsync();
        Assert.False(flows.HistoryWritten.IsCompleted);
        history.Gate.SetResult();
        var versions = await listed.WaitAsync(FlowHarness.DefaultTimeout);

        Assert.Equal([(second.Rev, "nodes", "bob", "second"), (first.Rev, "full", "ann", "first")],
            versions.Select(v => (v.Rev, v.Type, v.User, v.Message)));
        await flows.HistoryWritten.WaitAsync(FlowHarness.DefaultTimeout);
        var kept = await flows.History.FindByRevAsync(first.Rev);
        Assert.Equal("one", (string?)kept!.Flows[1]!["name"]);
    }

    [Fact]
    public void A_document_serializes_once_as_ToJsonString_does_and_knows_each_node_s_bytes()
    {
        var array = JsonNode.Parse("""
            [{"id":"t","type":"tab","label":"<café> & \"quotes\"\n","info":"\u00e9\ud83d\ude00"},
             {"id":"n","type":"test-counter","z":"t","x":1.50,"y":2e3,"wires":[[]],"props":[{"p":"payload"},null,true]},
             {"id":"cfg","type":"some-config","list":[],"empty":{}}]
            """)!.AsArray();
        var doc = FlowDocument.Adopt(array);

        Assert.Same(array, doc.Raw);
        Assert.Equal(array.ToJsonString(), doc.Json);
        Assert.Equal(array.ToJsonString(), Encoding.UTF8.GetString(doc.Utf8Json.Span));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(array.ToJsonString()))), doc.Rev);
        Assert.Equal(FlowDocument.From(array.DeepClone()).Rev, doc.Rev);
        foreach (var node in array.OfType<JsonObject>())
        {
            Assert.Equal(node.ToJsonString(), Encoding.UTF8.GetString(doc.JsonOf((string)node["id"]!).Span));
        }
        Assert.True(doc.JsonOf("missing").IsEmpty);
    }

    [Fact]
    public async Task Saving_a_document_writes_the_indented_file_and_keeps_the_previous_one_as_the_backup()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("ff-deploypath-").FullName, "flows.json");
        var storage = new FileFlowStorage(path);
        var indented = new JsonSerializerOptions { WriteIndented = true };
        var one = FlowDocument.Parse(Flow("one <é>"));
        var two = FlowDocument.Parse(Flow("two \\\"x\\\""));

        await storage.SaveAsync(one);
        await storage.SaveAsync(two);

        Assert.Equal(two.Raw.ToJsonString(indented), await File.ReadAllTextAsync(path));
        Assert.Equal(one.Raw.ToJsonString(indented), await File.ReadAllTextAsync(path + ".backup"));
        Assert.Equal(two.Rev, FlowDocument.From(await storage.LoadAsync()).Rev);
    }

    [Fact]
    public async Task Each_save_writes_the_whole_document_indented_when_items_are_taken_from_the_save_before()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("ff-deploypath-").FullName, "flows.json");
        var storage = new FileFlowStorage(path);
        var indented = new JsonSerializerOptions { WriteIndented = true };
        const string tab = """{"id":"t","type":"tab","label":"<café> & \"q\"\n","env":[{"name":"A","value":"\u00e9\ud83d\ude00","type":"str"}]}""";
        const string a = """{"id":"a","type":"test-counter","z":"t","x":1.50,"y":2e3,"wires":[["b"],[]],"props":[{"p":"payload"},null,true,{}]}""";
        const string b = """{"id":"b","type":"test-counter","z":"t","x":3,"y":4,"wires":[]}""";
        const string b2 = """{"id":"b","type":"test-counter","z":"t","x":3,"y":4,"name":"changed","wires":[]}""";
        const string c = """{"id":"c","type":"some-config","nested":{"deep":[[1,2],{"k":"v"}],"e":[]}}""";
        // The same items again, one changed, one added, one removed, items moved, and all of them gone.
        string[][] saves = [[tab, a, b], [tab, a, b], [tab, a, b2], [tab, a, b2, c], [tab, b2, c], [c, tab, b2], [tab]];
        foreach (var items in saves)
        {
            var doc = FlowDocument.Parse("[" + string.Join(",", items) + "]");
            await storage.SaveAsync(doc);
            Assert.Equal(doc.Raw.ToJsonString(indented), await File.ReadAllTextAsync(path));
        }
        await storage.SaveAsync(FlowDocument.Parse("[]"));
        Assert.Equal("[]", await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task A_deploy_given_its_answer_writes_its_history_version_once_the_answer_is_sent()
    {
        var dir = Directory.CreateTempSubdirectory("ff-deploypath-").FullName;
        var sc = new ServiceCollection();
        sc.AddFlowRuntime(dir, typeof(DeployPathTests).Assembly);
        await using var provider = sc.BuildServiceProvider();
        var flows = new FlowService(provider.GetRequiredService<FlowEngine>(), new FileFlowStorage(Path.Combine(dir, "flows.json")),
            history: new SqliteFlowHistory(Path.Combine(dir, "history.db")));
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var progress = await flows.BeginDeployAsync(FlowDocument.Parse(Flow("one")), DeployType.Full, null, new DeployInfo("ann", "first"), answered.Task)
            .WaitAsync(FlowHarness.DefaultTimeout);
        await progress.Started.WaitAsync(FlowHarness.DefaultTimeout);
        Assert.False(flows.HistoryWritten.IsCompleted);

        answered.SetResult();
        await flows.HistoryWritten.WaitAsync(FlowHarness.DefaultTimeout);
        Assert.Equal([(progress.Rev, "ann")], (await flows.History!.ListAsync()).Select(v => (v.Rev, v.User)));
    }
}
