using System.Text.Json.Nodes;

namespace FlowFleet.Nodes.Core.Tests.Function;

/// <summary>The delay node's queues: msg.flush with a count, msg.toFront, topic queues that replace and drop, random delays.</summary>
public sealed class DelayNodeTests
{
    private static string Payloads(IEnumerable<FlowFleet.Runtime.Messages.FlowMessage> messages) => string.Join(",", messages.Select(m => m.Payload!.ToJsonString()));

    [Fact]
    public async Task A_rate_limited_queue_releases_toFront_first_and_flush_sends_the_count_asked()
    {
        await using var h = await Flows.One("""{"type":"delay","pauseType":"rate","rate":"1","nbRateUnits":"1","rateUnits":"hour","drop":false,"outputs":1}""");
        h.SendJson("n", """{"payload":"a"}""");
        Assert.Equal("\"a\"", (await h.NextAsync("o0")).Payload!.ToJsonString());
        h.SendJson("n", """{"payload":"b"}""");
        h.SendJson("n", """{"payload":"c","toFront":true}""");
        h.SendJson("n", """{"payload":"d"}""");
        h.SendJson("n", """{"flush":2}""");
        Assert.Equal("\"c\",\"b\"", Payloads(await h.TakeAsync("o0", 2)));
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(100));
        h.SendJson("n", """{"flush":true}""");
        Assert.Equal("\"d\"", (await h.NextAsync("o0")).Payload!.ToJsonString());
    }

    [Fact]
    public async Task A_topic_queue_keeps_the_latest_per_topic_and_sends_the_replaced_one_to_the_second_output()
    {
        await using var h = await Flows.One("""{"type":"delay","pauseType":"queue","rate":"1","nbRateUnits":"1","rateUnits":"hour","drop":true,"outputs":2}""", outputs: 2);
        h.SendJson("n", """{"topic":"a","payload":1}""");
        h.SendJson("n", """{"topic":"b","payload":2}""");
        h.SendJson("n", """{"topic":"a","payload":3}""");
        Assert.Equal("1", (await h.NextAsync("o1")).Payload!.ToJsonString());
        h.SendJson("n", """{"flush":1}""");
        Assert.Equal("3", (await h.NextAsync("o0")).Payload!.ToJsonString());
        h.SendJson("n", """{"flush":5}""");
        Assert.Equal("2", (await h.NextAsync("o0")).Payload!.ToJsonString());
    }

    [Fact]
    public async Task Pending_delays_flush_in_arrival_order_up_to_the_count()
    {
        await using var h = await Flows.One("""{"type":"delay","pauseType":"delay","timeout":"1","timeoutUnits":"hours"}""");
        foreach (var p in new[] { 1, 2, 3 })
        {
            h.Send("n", JsonValue.Create(p));
        }
        h.SendJson("n", """{"flush":2}""");
        Assert.Equal("1,2", Payloads(await h.TakeAsync("o0", 2)));
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_random_delay_sends_each_message_once()
    {
        await using var h = await Flows.One("""{"type":"delay","pauseType":"random","randomFirst":"0","randomLast":"20","randomUnits":"milliseconds"}""");
        h.Send("n", JsonValue.Create("r"));
        h.Send("n", JsonValue.Create("s"));
        Assert.Equal(["\"r\"", "\"s\""], (await h.TakeAsync("o0", 2)).Select(m => m.Payload!.ToJsonString()).Order());
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(100));
    }
}
