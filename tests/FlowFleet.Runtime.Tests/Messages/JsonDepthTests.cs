using System.Text.Json.Nodes;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Tests.Messages;

/// <summary>Values nested past the limit fail with an error instead of overflowing the stack in a recursive walk.</summary>
public sealed class JsonDepthTests
{
    private static JsonObject Nested(int depth)
    {
        JsonNode inner = new JsonArray();
        for (var i = 0; i < depth; i++)
        {
            inner = new JsonArray(inner);
        }
        return new JsonObject { ["payload"] = inner };
    }

    [Fact]
    public void Cloning_comparing_and_storing_a_200000_deep_value_throws_a_depth_error()
    {
        var deep = Nested(200_000);
        Assert.Throws<JsonDepthException>(() => new FlowMessage(deep).Clone());
        Assert.Throws<JsonDepthException>(() => JsonTools.DeepEquals(deep, deep["payload"]!.Parent));
        Assert.Throws<JsonDepthException>(() => JsonTools.Detach(deep["payload"]));
        var context = new ContextManager().Scope("global");
        Assert.Throws<JsonDepthException>(() => context.Set("k", deep));
        Assert.Throws<JsonDepthException>(() => PropertyPath.Parse("payload.x").Set(new JsonObject(), deep));
        // Within the limit all of it works.
        var fine = Nested(400);
        Assert.True(JsonTools.DeepEquals(fine, new FlowMessage(fine).Clone().Data));
        context.Set("k", fine);
    }

    [Fact]
    public void Nesting_a_message_one_level_per_pass_stops_at_the_limit()
    {
        var msg = new JsonObject { ["payload"] = 1 };
        var path = PropertyPath.Parse("payload.a");
        var passes = 0;
        var ex = Assert.Throws<JsonDepthException>(() =>
        {
            for (; passes < 100_000; passes++)
            {
                // A change node moving payload into payload.a: delete, then set.
                var value = msg["payload"];
                msg.Remove("payload");
                path.Set(msg, value);
            }
        });
        Assert.InRange(passes, JsonDepth.Max - 10, JsonDepth.Max);
        Assert.Contains("levels deep", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Setting_a_message_into_itself_copies_it_and_huge_indexes_are_refused()
    {
        var msg = new JsonObject { ["payload"] = 1 };
        PropertyPath.Parse("payload").Set(msg, msg);
        Assert.Equal("""{"payload":{"payload":1}}""", msg.ToJsonString());
        Assert.Throws<InvalidOperationException>(() => PropertyPath.Parse("payload[100000000]").Set(new JsonObject { ["payload"] = new JsonArray() }, 1));
    }
}
