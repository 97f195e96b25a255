using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Tests.Sequence;

/// <summary>The split node on buffers split at a separator, and on parts that are themselves parts of a sequence.</summary>
public sealed class SplitBufferTests
{
    [Fact]
    // As 17-split.js: each piece a buffer, parts.type "buffer", count = separators + 1.
    public async Task A_buffer_splits_at_a_string_separator_into_buffers()
    {
        await using var h = await Flows.One("""{"type":"split","splt":"\\n","spltType":"str","arraySplt":1,"arraySpltType":"len","stream":false}""");
        h.Send("n", JsonTools.Buffer("a\nbb\nc"u8.ToArray()));
        var parts = await h.TakeAsync("o0", 3);
        Assert.Equal(["a", "bb", "c"], parts.Select(p => Encoding.UTF8.GetString(JsonTools.BufferBytes(p.Payload!))));
        Assert.All(parts, p => Assert.Equal("buffer", p.Data["parts"]!["type"]!.GetValue<string>()));
        Assert.Equal([0, 1, 2], parts.Select(p => (int)Flows.Num(p.Data["parts"]!["index"])));
        Assert.All(parts, p => Assert.Equal(3, Flows.Num(p.Data["parts"]!["count"])));
    }

    [Fact]
    public async Task Splitting_a_part_again_keeps_the_outer_parts_under_parts_parts()
    {
        await using var h = await Flows.One("""{"type":"split","splt":",","spltType":"str","arraySplt":1,"arraySpltType":"len","stream":false}""");
        h.SendJson("n", """{"payload":"x,y","parts":{"id":"outer","index":1,"count":2,"type":"array","len":1}}""");
        var parts = await h.TakeAsync("o0", 2);
        Assert.Equal(["x", "y"], parts.Select(p => p.Payload!.GetValue<string>()));
        Assert.All(parts, p => Assert.Equal("outer", p.Data["parts"]!["parts"]!["id"]!.GetValue<string>()));
        Assert.NotEqual("outer", parts[0].Data["parts"]!["id"]!.GetValue<string>());
    }
}
