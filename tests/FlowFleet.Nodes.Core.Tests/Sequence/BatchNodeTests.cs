using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Sequence;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Nodes.Core.Tests.Sequence;

/// <summary>Cases from Node-RED's <c>test/nodes/core/sequence/19-batch_spec.js</c>.</summary>
public sealed class BatchNodeTests
{
    private static async Task<List<List<FlowMessage>>> SequencesAsync(FlowHarness h, int sequences)
    {
        var result = new List<List<FlowMessage>>();
        for (var s = 0; s < sequences; s++)
        {
            var first = await h.NextAsync("o0");
            var count = (int)Flows.Num(first.Data["parts"]!["count"]);
            var seq = new List<FlowMessage> { first };
            seq.AddRange(await h.TakeAsync("o0", count - 1));
            Assert.All(seq, m => Assert.Equal(first.Data["parts"]!["id"]!.ToString(), m.Data["parts"]!["id"]!.ToString()));
            Assert.Equal(Enumerable.Range(0, count), seq.Select(m => (int)Flows.Num(m.Data["parts"]!["index"])));
            result.Add(seq);
        }
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(200));
        return result;
    }

    private static string Show(List<List<FlowMessage>> seqs) =>
        string.Join("|", seqs.Select(s => string.Join(",", s.Select(m => m.Payload?.ToJsonString() ?? "null"))));

    [Theory]
    [InlineData("""{"count":2,"overlap":0}""", "0,1|2,3|4,5")]
    [InlineData("""{"count":4,"overlap":0}""", "0,1,2,3")]
    [InlineData("""{"count":4,"overlap":0,"honourParts":true}""", "0,1,2,3|4,5")]
    [InlineData("""{"count":3,"overlap":2}""", "0,1,2|1,2,3|2,3,4|3,4,5")]
    public async Task Count_mode_makes_sequences(string options, string expected)
    {
        var config = JsonNode.Parse(options)!.AsObject();
        config["type"] = "batch";
        config["mode"] = "count";
        await using var h = await Flows.One(config.ToJsonString());
        for (var i = 0; i < 6; i++)
        {
            h.SendJson("n", new JsonObject { ["payload"] = i, ["parts"] = new JsonObject { ["count"] = 6, ["index"] = i } }.ToJsonString());
        }
        Assert.Equal(expected, Show(await SequencesAsync(h, expected.Split('|').Length)));
    }

    [Fact]
    public async Task Count_mode_reset_drops_what_is_pending()
    {
        await using var h = await Flows.One("""{"type":"batch","mode":"count","count":2,"overlap":0}""");
        foreach (var m in new[] { """{"payload":0}""", """{"payload":1}""", """{"payload":2}""", """{"payload":3,"reset":true}""", """{"payload":4}""", """{"payload":5}""" })
        {
            h.SendJson("n", m);
        }
        Assert.Equal("0,1|4,5", Show(await SequencesAsync(h, 2)));
    }

    [Fact]
    public async Task Count_not_above_overlap_is_an_error_and_the_node_sends_nothing()
    {
        await using var h = await Flows.One("""{"type":"batch","mode":"count","count":2,"overlap":2}""", extra: Flows.Handled);
        h.Send("n", JsonValue.Create(1));
        h.Send("n", JsonValue.Create(2));
        await h.TakeAsync("handled", 2);
        await h.AssertNothingYetAsync("o0");
        Assert.Contains(h.Logs, l => l.Message.Contains("Invalid count", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false, "0|1|2")]
    [InlineData(true, "0|null|1|2")]
    public async Task Interval_mode_sends_what_arrived_each_interval(bool allowEmpty, string expected)
    {
        var time = new FakeTimeProvider();
        await using var h = await Flows.One($$"""{"type":"batch","mode":"interval","interval":1,"allowEmptySequence":{{(allowEmpty ? "true" : "false")}}}""",
            services: s => s.AddSingleton<TimeProvider>(time));
        var node = (BatchNode)h.Engine.GetNode("n")!;
        var sequences = new List<List<FlowMessage>>();
        async Task Tick() => await Task.Run(() => time.Advance(TimeSpan.FromSeconds(1)));
        h.Send("n", JsonValue.Create(0));
        await Flows.UntilAsync(() => node.PendingCount == 1, "message 0 queued");
        await Tick();
        sequences.Add([await h.NextAsync("o0")]);
        await Tick();
        if (allowEmpty)
        {
            sequences.Add([await h.NextAsync("o0")]);
        }
        h.Send("n", JsonValue.Create(1));
        await Flows.UntilAsync(() => node.PendingCount == 1, "message 1 queued");
        await Tick();
        sequences.Add([await h.NextAsync("o0")]);
        h.Send("n", JsonValue.Create(2));
        await Flows.UntilAsync(() => node.PendingCount == 1, "message 2 queued");
        await Tick();
        sequences.Add([await h.NextAsync("o0")]);
        Assert.Equal(expected, Show(sequences));
        Assert.All(sequences, s => Assert.Equal(1, Flows.Num(s[0].Data["parts"]!["count"])));
    }

    [Theory]
    [InlineData("""[{"topic":"TA"},{"topic":"TB"}]""", """[["TB",0,0,2],["TB",1,1,2],["TA",2,0,2],["TA",3,1,2]]""", "2,3,0,1")]
    [InlineData("""[{"topic":"TA"},{"topic":"TB"}]""", """[["TA",2,0,2],["TB",0,0,2],["TA",3,1,2],["TB",1,1,2]]""", "2,3,0,1")]
    [InlineData("""[{"topic":"TA"},{"topic":"TB"},{"topic":"TC"}]""", """[["TC",4,0,1],["TB",0,0,2],["TB",1,1,2],["TA",2,0,2],["TA",3,1,2]]""", "2,3,0,1,4")]
    [InlineData("""[{"topic":"TA"},{"topic":"TA"}]""", """[["TA",9,0,2],["TA",8,1,2]]""", "9,8,9,8")]
    public async Task Concat_mode_joins_one_sequence_per_topic_in_topic_order(string topics, string inputs, string expected)
    {
        await using var h = await Flows.One($$"""{"type":"batch","mode":"concat","topics":{{topics}}}""");
        foreach (var i in JsonNode.Parse(inputs)!.AsArray())
        {
            h.SendJson("n", new JsonObject
            {
                ["topic"] = i![0]!.DeepClone(), ["payload"] = i[1]!.DeepClone(),
                ["parts"] = new JsonObject { ["id"] = i[0]!.DeepClone(), ["index"] = i[2]!.DeepClone(), ["count"] = i[3]!.DeepClone() },
            }.ToJsonString());
        }
        Assert.Equal(expected, Show(await SequencesAsync(h, 1)));
    }

    [Fact]
    public async Task Concat_mode_refuses_a_message_without_parts()
    {
        await using var h = await Flows.One("""{"type":"batch","mode":"concat","topics":[{"topic":"TA"}]}""",
            extra: """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""");
        h.SendJson("n", """{"topic":"TA","payload":1}""");
        var err = await h.NextAsync("err");
        Assert.Contains("no parts", err.Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
