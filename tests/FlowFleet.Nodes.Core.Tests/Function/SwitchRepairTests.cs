using System.Text.Json.Nodes;

namespace FlowFleet.Nodes.Core.Tests.Function;

/// <summary>The switch node's "recreate message sequences": each output gets its own sequence once the whole input sequence arrived.</summary>
public sealed class SwitchRepairTests
{
    [Fact]
    public async Task Each_output_gets_a_new_sequence_with_its_own_id_indexes_and_count()
    {
        await using var h = await Flows.One("""{"type":"switch","property":"payload","propertyType":"msg","rules":[{"t":"gt","v":"2","vt":"num"},{"t":"else"}],"checkall":"true","repair":true,"outputs":2}""", outputs: 2);
        foreach (var (value, index) in new[] { (1, 0), (5, 1), (3, 2), (0, 3) })
        {
            h.SendJson("n", $$$"""{"payload":{{{value}}},"parts":{"id":"seq","index":{{{index}}},"count":4,"type":"array"}}""");
        }
        // Held until the sequence is complete, then sent in arrival order.
        var high = await h.TakeAsync("o0", 2);
        var low = await h.TakeAsync("o1", 2);
        Assert.Equal([5, 3], high.Select(m => (int)Flows.Num(m.Payload)));
        Assert.Equal([1, 0], low.Select(m => (int)Flows.Num(m.Payload)));
        foreach (var sequence in new[] { high, low })
        {
            Assert.Equal([0, 1], sequence.Select(m => (int)Flows.Num(m.Data["parts"]!["index"])));
            Assert.All(sequence, m => Assert.Equal(2, Flows.Num(m.Data["parts"]!["count"])));
            Assert.Single(sequence.Select(m => m.Data["parts"]!["id"]!.GetValue<string>()).Distinct());
        }
        Assert.NotEqual(high[0].Data["parts"]!["id"]!.GetValue<string>(), low[0].Data["parts"]!["id"]!.GetValue<string>());
        Assert.NotEqual("seq", high[0].Data["parts"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_incomplete_sequence_is_held()
    {
        await using var h = await Flows.One("""{"type":"switch","property":"payload","propertyType":"msg","rules":[{"t":"nnull"}],"checkall":"true","repair":true,"outputs":1}""");
        h.SendJson("n", """{"payload":1,"parts":{"id":"open","index":0,"count":2}}""");
        // A complete sequence sent after it comes out first: the open one is held.
        await h.AssertNothingBeforeAsync("o0", "n", """{"payload":9,"parts":{"id":"probe","index":0,"count":1}}""");
        h.SendJson("n", """{"payload":2,"parts":{"id":"open","index":1,"count":2}}""");
        Assert.Equal([1, 2], (await h.TakeAsync("o0", 2)).Select(m => (int)Flows.Num(m.Payload)));
    }
}
