using System.Text.Json.Nodes;

namespace FlowFleet.Nodes.Core.Tests.Sequence;

/// <summary>Cases from Node-RED's <c>test/nodes/core/sequence/18-sort_spec.js</c>.</summary>
public sealed class SortNodeTests
{
    private static readonly string[] s_in = ["200", "4", "30", "1000"];

    [Theory]
    [InlineData("ascending", false, "1000,200,30,4")]
    [InlineData("descending", false, "4,30,200,1000")]
    [InlineData("ascending", true, "4,30,200,1000")]
    [InlineData("descending", true, "1000,200,30,4")]
    public async Task Sorts_an_array_property_by_its_elements(string order, bool asNum, string expected)
    {
        foreach (var target in new[] { "payload", "data" })
        {
            await using var h = await Flows.One($$"""{"type":"sort","order":"{{order}}","as_num":{{(asNum ? "true" : "false")}},"target":"{{target}}","targetType":"msg","msgKey":"","msgKeyType":"elem"}""");
            var msg = new JsonObject { [target] = new JsonArray(s_in.Select(s => (JsonNode?)s).ToArray()) };
            h.SendJson("n", msg.ToJsonString());
            var got = await h.NextAsync("o0");
            Assert.Equal(expected, string.Join(",", got.Data[target]!.AsArray().Select(x => x!.GetValue<string>())));
        }
    }

    [Theory]
    [InlineData("ascending", false, "payload", "1000,200,30,4")]
    [InlineData("descending", false, "data", "4,30,200,1000")]
    [InlineData("ascending", true, "payload", "4,30,200,1000")]
    [InlineData("descending", true, "data", "1000,200,30,4")]
    public async Task Sorts_a_message_sequence_and_renumbers_parts(string order, bool asNum, string key, string expected)
    {
        await using var h = await Flows.One($$"""{"type":"sort","order":"{{order}}","as_num":{{(asNum ? "true" : "false")}},"targetType":"seq","seqKey":"{{key}}","seqKeyType":"msg"}""");
        for (var i = 0; i < s_in.Length; i++)
        {
            h.SendJson("n", new JsonObject { [key] = s_in[i], ["parts"] = new JsonObject { ["id"] = "X", ["index"] = i, ["count"] = 4 } }.ToJsonString());
        }
        var got = await h.TakeAsync("o0", 4);
        Assert.Equal(expected, string.Join(",", got.Select(m => m.Data[key]!.GetValue<string>())));
        Assert.Equal([0, 1, 2, 3], got.Select(m => (int)Flows.Num(m.Data["parts"]!["index"])));
        Assert.All(got, m => Assert.Equal(4, Flows.Num(m.Data["parts"]!["count"])));
    }

    [Fact]
    public async Task Messages_outside_a_sequence_and_non_arrays_are_not_sent()
    {
        await using var seq = await Flows.One("""{"type":"sort","targetType":"seq","seqKey":"payload","seqKeyType":"msg"}""");
        seq.Send("n", JsonValue.Create(1));
        await seq.AssertNothingBeforeAsync("o0", "n", """{"payload":2,"parts":{"id":"probe","index":0,"count":1}}""");
        await using var prop = await Flows.One("""{"type":"sort","target":"payload","targetType":"msg","msgKeyType":"elem"}""");
        prop.Send("n", JsonValue.Create("not an array"));
        await prop.AssertNothingBeforeAsync("o0", "n", """{"payload":[2,1]}""");
    }

    [Fact]
    public async Task Sorting_is_stable_and_mixed_keys_compare_as_javascript_does()
    {
        await using var h = await Flows.One("""{"type":"sort","target":"payload","targetType":"msg","msgKeyType":"elem"}""");
        h.SendJson("n", """{"payload":[10,9,"b","a",1]}""");
        var got = (await h.NextAsync("o0")).Payload!.AsArray();
        // Numbers against numbers numerically; strings against strings by code unit.
        Assert.Equal(1, Flows.Num(got.First(x => x!.GetValueKind() == System.Text.Json.JsonValueKind.Number)));
        var strings = got.Where(x => x!.GetValueKind() == System.Text.Json.JsonValueKind.String).Select(x => x!.GetValue<string>()).ToList();
        Assert.Equal(["a", "b"], strings);
    }
}
