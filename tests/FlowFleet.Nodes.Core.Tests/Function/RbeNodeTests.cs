using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Function;

/// <summary>Cases from Node-RED's <c>test/nodes/core/function/rbe_spec.js</c>.</summary>
public sealed class RbeNodeTests
{
    private static async Task<List<string>> RunAsync(string config, string[] inputs, int expected)
    {
        await using var h = await Flows.One(config);
        foreach (var input in inputs)
        {
            h.SendJson("n", input);
        }
        var got = await h.TakeAsync("o0", expected);
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(200));
        return got.Select(m => (m.Data["topic"] is { } t ? t + ":" : "") + (m.Payload?.ToJsonString() ?? m.Data["foo"]?.ToJsonString())).ToList();
    }

    [Fact]
    public async Task Rbe_sends_only_changes_per_topic_comparing_objects_deeply()
    {
        var got = await RunAsync("""{"type":"rbe","func":"rbe","gap":"0"}""",
        [
            """{"payload":"a"}""", """{"payload":"a"}""", """{"payload":"a"}""", """{"payload":2}""", """{"payload":2}""",
            """{"payload":{"b":1,"c":2}}""", """{"payload":{"c":2,"b":1}}""", """{"payload":{"c":2,"b":1}}""",
            """{"payload":true}""", """{"payload":false}""", """{"payload":false}""", """{"payload":true}""",
            """{"topic":"a","payload":1}""", """{"topic":"b","payload":1}""", """{"topic":"b","payload":1}""", """{"topic":"a","payload":1}""", """{"topic":"c","payload":1}""",
        ], 9);
        Assert.Equal(["\"a\"", "2", """{"b":1,"c":2}""", "true", "false", "true", "a:1", "b:1", "c:1"], got);
    }

    [Fact]
    public async Task Rbe_ignores_topics_when_septopics_is_false()
    {
        var got = await RunAsync("""{"type":"rbe","func":"rbe","gap":"0","septopics":false}""",
        [
            """{"topic":"a","payload":"a"}""", """{"topic":"b","payload":"a"}""", """{"topic":"c","payload":"a"}""",
            """{"topic":"a","payload":2}""", """{"topic":"b","payload":2}""", """{"topic":"a","payload":1}""", """{"topic":"b","payload":1}""",
        ], 3);
        Assert.Equal(["a:\"a\"", "a:2", "a:1"], got);
    }

    [Fact]
    public async Task Rbe_watches_another_property()
    {
        var got = await RunAsync("""{"type":"rbe","func":"rbe","gap":"0","property":"foo"}""",
        [
            """{"foo":"a"}""", """{"payload":"a"}""", """{"foo":"a"}""", """{"payload":"a"}""", """{"foo":"a"}""", """{"foo":"b"}""",
            """{"foo":{"b":1,"c":2}}""", """{"foo":{"c":2,"b":1}}""", """{"payload":{"c":2,"b":1}}""",
        ], 3);
        Assert.Equal(["\"a\"", "\"b\"", """{"b":1,"c":2}"""], got);
    }

    [Fact]
    public async Task Rbei_blocks_the_first_value_of_each_topic()
    {
        var got = await RunAsync("""{"type":"rbe","func":"rbei","gap":"0"}""",
        [
            """{"payload":"a","topic":"a"}""", """{"payload":"a","topic":"b"}""", """{"payload":"a","topic":"a"}""", """{"payload":"b","topic":"a"}""",
            """{"payload":"b","topic":"b"}""", """{"payload":"c","topic":"a"}""", """{"payload":"c","topic":"b"}""",
        ], 4);
        Assert.Equal(["a:\"b\"", "b:\"b\"", "a:\"c\"", "b:\"c\""], got);
    }

    [Fact]
    public async Task Reset_forgets_one_topic_or_all()
    {
        var got = await RunAsync("""{"type":"rbe","func":"rbe","gap":"0"}""",
        [
            """{"topic":"a","payload":"a"}""", """{"topic":"a","payload":"a"}""", """{"topic":"b","payload":"b"}""", """{"reset":true}""",
            """{"topic":"a","payload":"a"}""", """{"topic":"b","payload":"b"}""", """{"topic":"b","payload":"b"}""", """{"topic":"b","reset":""}""",
            """{"topic":"b","payload":"b"}""", """{"topic":"a","payload":"a"}""", """{"reset":""}""", """{"topic":"b","payload":"b"}""",
            """{"topic":"a","payload":"a"}""", """{"topic":"c"}""", """{"topic":"b","payload":"b"}""", """{"topic":"a","payload":"a"}""", """{"topic":"c","payload":"c"}""",
        ], 8);
        Assert.Equal(["a:\"a\"", "b:\"b\"", "a:\"a\"", "b:\"b\"", "b:\"b\"", "b:\"b\"", "a:\"a\"", "c:\"c\""], got);
    }

    [Theory]
    [InlineData("""{"type":"rbe","func":"deadbandEq","gap":"10","inout":"out"}""", "0,2,4,6,8,10,15,20", "0,10,20")]
    [InlineData("""{"type":"rbe","func":"deadband","gap":"10"}""", "0,2,4,\"6 deg\",8,20,15,\"5 deg\"", "0,20,\"5 deg\"")]
    [InlineData("""{"type":"rbe","func":"deadband","gap":"10%"}""", "100,95,105,111,120,135", "100,111,135")]
    [InlineData("""{"type":"rbe","func":"narrowbandEq","gap":"10","inout":"out","start":"1"}""", "100,0,10,5,15,10,20,25", "0,5,10")]
    [InlineData("""{"type":"rbe","func":"narrowband","gap":"10"}""", "0,20,40,\"6 deg\",18,20,50,\"5 deg\"", "0,\"6 deg\",\"5 deg\"")]
    [InlineData("""{"type":"rbe","func":"narrowband","gap":"10"}""", "0,20,40,10,20,15,\"cabbage\"", "0,10,20,15")]
    [InlineData("""{"type":"rbe","func":"narrowband","gap":"10","inout":"in","start":"500"}""", "50,55,200,205", "55,205")]
    [InlineData("""{"type":"rbe","func":"deadband","gap":"10","inout":"in"}""", "0,8,16,30,31,42", "0,30,42")]
    public async Task Bands_compare_numbers_with_the_gap(string config, string inputs, string expected)
    {
        var values = JsonNode.Parse("[" + inputs + "]")!.AsArray();
        var want = JsonNode.Parse("[" + expected + "]")!.AsArray();
        var got = await RunAsync(config, values.Select(v => new JsonObject { ["payload"] = v?.DeepClone() }.ToJsonString()).ToArray(), want.Count);
        Assert.Equal(want.Select(v => v!.ToJsonString()), got);
    }

    [Fact]
    public async Task Deadband_warns_when_no_number_is_found()
    {
        await using var h = await Flows.One("""{"type":"rbe","func":"deadband","gap":"10"}""");
        h.Send("n", JsonValue.Create("banana"));
        Assert.Equal("no number found in payload", (await h.WaitForLogAsync(l => l.NodeId == "n" && l.Level == "warn")).Message);
        // The first number passes a deadband; sent after "banana", it comes out first: "banana" sent nothing.
        await h.AssertNothingBeforeAsync("o0", "n", """{"payload":5}""");
        Assert.Contains(h.Logs, l => l.Message.Contains("no number found", StringComparison.Ordinal));
    }
}
