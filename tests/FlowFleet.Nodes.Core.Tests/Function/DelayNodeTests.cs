using System.Text.Json.Nodes;

namespace FlowFleet.Nodes.Core.Tests.Function;

/// <summary>
/// The delay node on a fake clock (<see cref="DelayRig"/>): when each message leaves is shown by advancing the clock to just
/// before and to the moment it is due; "nothing yet" is proven by a marker overtaking nothing (<c>AssertNothingYetAsync</c>).
/// </summary>
public sealed class DelayNodeTests
{
    private const string Fixed = """{"type":"delay","pauseType":"delay","timeout":"1","timeoutUnits":"minutes"}""";

    [Fact]
    public async Task A_fixed_delay_holds_each_message_for_the_configured_time()
    {
        await using var r = await DelayRig.StartAsync(Fixed);
        await r.InputAsync("""{"payload":"a"}""");
        await r.AdvanceAsync(30_000);
        await r.InputAsync("""{"payload":"b"}""");
        await r.AdvanceAsync(29_999);
        await r.NothingYetAsync();
        await r.AdvanceAsync(1);
        Assert.Equal("\"a\"", await r.NextAsync());
        await r.AdvanceAsync(29_999);
        await r.NothingYetAsync();
        await r.AdvanceAsync(1);
        Assert.Equal("\"b\"", await r.NextAsync());
    }

    [Fact]
    public async Task Delayv_takes_msg_delay_falls_back_to_the_configured_time_and_clamps_negative_to_zero()
    {
        await using var r = await DelayRig.StartAsync("""{"type":"delay","pauseType":"delayv","timeout":"5","timeoutUnits":"seconds"}""");
        await r.InputAsync("""{"payload":"slow","delay":2000}""");
        await r.InputAsync("""{"payload":"default"}""");
        await r.InputAsync("""{"payload":"negative","delay":-5}""");
        await r.InputAsync("""{"payload":"text","delay":"1000ms"}""");
        await r.AdvanceAsync(1);
        Assert.Equal("\"negative\"", await r.NextAsync());
        await r.AdvanceAsync(999);
        Assert.Equal("\"text\"", await r.NextAsync());
        await r.AdvanceAsync(1000);
        Assert.Equal("\"slow\"", await r.NextAsync());
        await r.AdvanceAsync(2999);
        await r.NothingYetAsync();
        await r.AdvanceAsync(1);
        Assert.Equal("\"default\"", await r.NextAsync());
    }

    [Fact]
    public async Task Reset_drops_every_pending_message_including_its_own()
    {
        await using var r = await DelayRig.StartAsync("""{"type":"delay","pauseType":"delayv","timeout":"5","timeoutUnits":"seconds"}""");
        await r.InputAsync("""{"payload":"slow","delay":2000}""");
        await r.InputAsync("""{"payload":"reset carries a payload","reset":true}""");
        await r.InputAsync("""{"payload":"fast","delay":10}""");
        await r.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal("\"fast\"", await r.NextAsync());
        await r.NothingYetAsync();
    }

    [Fact]
    public async Task Flush_sends_pending_messages_now_and_a_flush_with_other_properties_goes_out_itself_last()
    {
        await using var r = await DelayRig.StartAsync(Fixed);
        await r.InputAsync("""{"payload":"a"}""");
        await r.InputAsync("""{"payload":"b"}""");
        await r.InputAsync("""{"flush":true}""");
        Assert.Equal("\"a\",\"b\"", await r.TakeAsync(2));
        await r.NothingYetAsync();
        // Node-RED's example "Reset or flush pending message": its flush inject also sets msg.topic, so the flush
        // message is queued like any other and the flush sends it too, after what was pending.
        await r.InputAsync("""{"payload":"c"}""");
        await r.InputAsync("""{"topic":"","flush":true}""");
        Assert.Equal("\"c\"", await r.NextAsync());
        var itself = await r.H.NextAsync("o0");
        Assert.Equal("""{"topic":"","flush":true}""", Without(itself.Data, "_msgid"));
        await r.AdvanceAsync(TimeSpan.FromHours(1));
        await r.NothingYetAsync();
    }

    [Fact]
    public async Task A_flush_count_sends_that_many_in_arrival_order_and_the_rest_stay_due()
    {
        await using var r = await DelayRig.StartAsync(Fixed);
        foreach (var p in new[] { 1, 2, 3 })
        {
            await r.InputAsync($$"""{"payload":{{p}}}""");
        }
        await r.InputAsync("""{"flush":2}""");
        Assert.Equal("1,2", await r.TakeAsync(2));
        await r.NothingYetAsync();
        await r.AdvanceAsync(60_000);
        Assert.Equal("3", await r.NextAsync());
    }

    [Fact]
    public async Task In_the_fixed_mode_a_reset_wins_over_a_flush_in_the_same_message()
    {
        await using var r = await DelayRig.StartAsync(Fixed);
        await r.InputAsync("""{"payload":"a"}""");
        await r.InputAsync("""{"payload":"both","reset":true,"flush":true}""");
        await r.AdvanceAsync(TimeSpan.FromHours(1));
        await r.NothingYetAsync();
    }

    [Fact]
    public async Task A_random_delay_falls_between_its_bounds()
    {
        await using var r = await DelayRig.StartAsync("""{"type":"delay","pauseType":"random","randomFirst":"1","randomLast":"2","randomUnits":"seconds"}""");
        await r.InputAsync("""{"payload":"r"}""");
        await r.InputAsync("""{"payload":"s"}""");
        await r.AdvanceAsync(999);
        await r.NothingYetAsync();
        await r.AdvanceAsync(1001);
        Assert.Equal(["\"r\"", "\"s\""], (await r.TakeAsync(2)).Split(',').Order());
        await r.NothingYetAsync();
    }

    internal static string Without(JsonObject data, string key)
    {
        var copy = (JsonObject)data.DeepClone();
        copy.Remove(key);
        return copy.ToJsonString();
    }
}
