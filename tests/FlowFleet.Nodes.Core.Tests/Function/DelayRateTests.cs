namespace FlowFleet.Nodes.Core.Tests.Function;

/// <summary>The delay node's rate limits (queue, drop, burst) and topic queues on a fake clock, as Node-RED's 89-delay.js runs them.</summary>
public sealed class DelayRateTests
{
    private const string OnePerSecond = """{"type":"delay","pauseType":"rate","rate":"1","nbRateUnits":"1","rateUnits":"second","drop":false}""";

    [Fact]
    public async Task A_rate_limit_sends_the_first_at_once_then_one_per_interval_in_order()
    {
        await using var r = await DelayRig.StartAsync(OnePerSecond);
        for (var i = 0; i < 4; i++)
        {
            await r.InputAsync($$"""{"payload":{{i}}}""");
        }
        Assert.Equal("0", await r.NextAsync());
        await r.AdvanceAsync(999);
        await r.NothingYetAsync();
        await r.AdvanceAsync(1);
        Assert.Equal("1", await r.NextAsync());
        await r.AdvanceAsync(1000);
        Assert.Equal("2", await r.NextAsync());
        await r.AdvanceAsync(1000);
        Assert.Equal("3", await r.NextAsync());
        // The tick that finds the queue empty stops the interval: the next message goes out at once.
        await r.AdvanceAsync(1000);
        await r.AdvanceAsync(500);
        await r.InputAsync("""{"payload":4}""");
        Assert.Equal("4", await r.NextAsync());
    }

    [Fact]
    public async Task A_rate_limited_queue_puts_toFront_first_and_flush_sends_the_count_asked()
    {
        await using var r = await DelayRig.StartAsync("""{"type":"delay","pauseType":"rate","rate":"1","nbRateUnits":"1","rateUnits":"hour","drop":false}""");
        await r.InputAsync("""{"payload":"a"}""");
        Assert.Equal("\"a\"", await r.NextAsync());
        await r.InputAsync("""{"payload":"b"}""");
        await r.InputAsync("""{"payload":"c","toFront":true}""");
        await r.InputAsync("""{"payload":"d","toFront":"yes"}""");
        await r.InputAsync("""{"flush":2}""");
        Assert.Equal("\"c\",\"b\"", await r.TakeAsync(2));
        await r.NothingYetAsync();
        await r.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal("\"d\"", await r.NextAsync());
    }

    [Fact]
    public async Task A_rate_limit_reset_empties_the_queue_and_lets_the_next_message_through()
    {
        await using var r = await DelayRig.StartAsync(OnePerSecond);
        await r.InputAsync("""{"payload":1}""");
        await r.InputAsync("""{"payload":2}""");
        await r.InputAsync("""{"payload":3}""");
        await r.InputAsync("""{"reset":true}""");
        Assert.Equal("1", await r.NextAsync());
        await r.InputAsync("""{"payload":4}""");
        Assert.Equal("4", await r.NextAsync());
        await r.AdvanceAsync(10_000);
        await r.NothingYetAsync();
    }

    [Fact]
    public async Task Flush_with_reset_sends_the_count_and_drops_the_rest_keeping_the_interval()
    {
        // Node-RED's "can part flush and reset rate limit queue".
        await using var r = await DelayRig.StartAsync(OnePerSecond);
        await r.InputAsync("""{"payload":1,"topic":"foo"}""");
        await r.InputAsync("""{"payload":2,"topic":"far"}""");
        await r.InputAsync("""{"payload":3,"topic":"boo"}""");
        await r.InputAsync("""{"payload":4,"topic":"bar"}""");
        await r.InputAsync("""{"flush":2,"reset":true}""");
        Assert.Equal("1,2,3", await r.TakeAsync(3));
        await r.NothingYetAsync();
        // The interval still runs, so a new message queues for its tick rather than going out at once.
        await r.InputAsync("""{"payload":5,"topic":"fob"}""");
        await r.NothingYetAsync();
        await r.AdvanceAsync(1000);
        Assert.Equal("5", await r.NextAsync());
    }

    [Fact]
    public async Task A_reset_with_a_payload_and_nothing_queued_sends_nothing()
    {
        await using var r = await DelayRig.StartAsync(OnePerSecond);
        await r.InputAsync("""{"payload":1,"topic":"foo","reset":true}""");
        await r.AdvanceAsync(5000);
        await r.NothingYetAsync();
    }

    [Fact]
    public async Task Drop_mode_passes_one_message_per_interval_and_sends_the_rest_to_the_second_output()
    {
        await using var r = await DelayRig.StartAsync("""{"type":"delay","pauseType":"rate","rate":"1","nbRateUnits":"1","rateUnits":"minute","drop":true,"outputs":2}""", outputs: 2);
        for (var i = 0; i < 3; i++)
        {
            r.Send($$"""{"payload":{{i}}}""");
        }
        Assert.Equal("0", await r.NextAsync());
        Assert.Equal("1,2", await r.TakeAsync(2, "o1"));
        // More than the interval must have gone by: at exactly one minute the message is still dropped.
        await r.AdvanceAsync(60_000);
        r.Send("""{"payload":3}""");
        Assert.Equal("3", await r.NextAsync("o1"));
        await r.AdvanceAsync(1);
        r.Send("""{"payload":4}""");
        Assert.Equal("4", await r.NextAsync());
        r.Send("""{"reset":true}""");
        r.Send("""{"payload":5}""");
        Assert.Equal("5", await r.NextAsync());
        await r.NothingYetAsync("o1");
    }

    [Fact]
    public async Task Burst_mode_lets_rate_messages_through_per_interval_and_reset_reopens_it()
    {
        await using var r = await DelayRig.StartAsync("""{"type":"delay","pauseType":"burst","rate":"3","nbRateUnits":"1","rateUnits":"second","drop":false,"outputs":2}""", outputs: 2);
        for (var i = 1; i <= 4; i++)
        {
            r.Send($$"""{"payload":{{i}}}""");
        }
        Assert.Equal("1,2,3", await r.TakeAsync(3));
        Assert.Equal("4", await r.NextAsync("o1"));
        // Each message holds its place for one interval from when it went out.
        await r.AdvanceAsync(1000);
        for (var i = 5; i <= 8; i++)
        {
            r.Send($$"""{"payload":{{i}}}""");
        }
        Assert.Equal("5,6,7", await r.TakeAsync(3));
        Assert.Equal("8", await r.NextAsync("o1"));
        r.Send("""{"reset":true}""");
        r.Send("""{"payload":9}""");
        Assert.Equal("9", await r.NextAsync());
    }

    [Fact]
    public async Task A_topic_queue_keeps_the_latest_per_topic_sends_one_per_tick_and_replaced_ones_to_the_second_output()
    {
        await using var r = await DelayRig.StartAsync("""{"type":"delay","pauseType":"queue","rate":"1","nbRateUnits":"1","rateUnits":"second","drop":false,"outputs":2}""", outputs: 2);
        await r.InputAsync("""{"topic":"a","payload":1}""");
        await r.InputAsync("""{"topic":"b","payload":2}""");
        await r.InputAsync("""{"topic":"a","payload":3}""");
        await r.InputAsync("""{"payload":4}""");
        Assert.Equal("1", await r.NextAsync("o1"));
        await r.NothingYetAsync();
        await r.AdvanceAsync(1000);
        Assert.Equal("3", await r.NextAsync());
        await r.AdvanceAsync(1000);
        Assert.Equal("2", await r.NextAsync());
        await r.AdvanceAsync(1000);
        var none = await r.H.NextAsync("o0");
        Assert.Equal("_none_", none.Topic);
        await r.AdvanceAsync(1000);
        await r.NothingYetAsync();
    }

    [Fact]
    public async Task A_timed_topic_queue_sends_every_topic_on_each_tick_of_an_interval_running_from_the_start()
    {
        await using var r = await DelayRig.StartAsync("""{"type":"delay","pauseType":"timed","rate":"1","nbRateUnits":"1","rateUnits":"second"}""");
        await r.AdvanceAsync(600);
        await r.InputAsync("""{"topic":"a","payload":1}""");
        await r.InputAsync("""{"topic":"a","payload":2}""");
        await r.InputAsync("""{"topic":"b","payload":3}""");
        await r.AdvanceAsync(399);
        await r.NothingYetAsync();
        await r.AdvanceAsync(1);
        Assert.Equal("2,3", await r.TakeAsync(2));
    }

    [Fact]
    public async Task A_topic_queue_flush_sends_the_count_and_a_bare_flush_replaces_the_untopiced_message()
    {
        await using var r = await DelayRig.StartAsync("""{"type":"delay","pauseType":"queue","rate":"1","nbRateUnits":"1","rateUnits":"hour"}""");
        await r.InputAsync("""{"topic":"a","payload":1}""");
        await r.InputAsync("""{"topic":"b","payload":2}""");
        await r.InputAsync("""{"flush":1}""");
        Assert.Equal("1", await r.NextAsync());
        await r.NothingYetAsync();
        await r.InputAsync("""{"payload":3}""");
        // The bare flush takes topic "_none_": it replaces payload 3 in the queue, then flushes all; itself has nothing to send.
        await r.InputAsync("""{"flush":true}""");
        Assert.Equal("2", await r.NextAsync());
        await r.AdvanceAsync(TimeSpan.FromHours(2));
        await r.NothingYetAsync();
    }

    [Fact]
    public async Task A_topic_queue_flush_count_past_the_end_sends_what_is_queued_then_reports_Node_REDs_error()
    {
        await using var r = await DelayRig.StartAsync("""{"type":"delay","pauseType":"queue","rate":"1","nbRateUnits":"1","rateUnits":"hour"}""");
        await r.InputAsync("""{"topic":"a","payload":1}""");
        await r.InputAsync("""{"topic":"b","payload":2}""");
        await r.InputAsync("""{"flush":5,"reset":true}""");
        Assert.Equal("1,2", await r.TakeAsync(2));
        var error = await r.H.WaitForLogAsync(l => l.NodeId == "n" && l.Level == "error");
        Assert.Contains("Cannot read properties of undefined", error.Message, StringComparison.Ordinal);
    }
}
