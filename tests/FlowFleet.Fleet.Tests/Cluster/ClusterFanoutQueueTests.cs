using System.Text.Json.Nodes;
using FlowFleet.Fleet.Cluster;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Tests.Cluster;

/// <summary>
/// The fan-out queue alone: deltas of one device merge so that applying the merged one gives the state applying each in turn
/// gives; a device's queue is bounded (oldest event dropped first, then its state sent whole) and every merge or drop counted.
/// </summary>
public sealed class ClusterFanoutQueueTests
{
    private static JsonObject Delta(string json) => JsonNode.Parse(json)!.AsObject();

    private static FanoutItem Status(string json) => new() { Kind = FanoutKind.Status, Delta = Delta(json), Ts = 1 };

    [Fact]
    public void A_thousand_deltas_of_one_device_leave_one_entry_with_the_last_values()
    {
        var queue = new FanoutQueue(64);
        Assert.True(queue.Add("d1", Status("""{"switch:0":{"apower":0,"output":false}}""")));
        for (var i = 1; i < 1000; i++)
        {
            Assert.False(queue.Add("d1", Status("""{"switch:0":{"apower":N},"sys":{"uptime":N}}""".Replace("N", $"{i}", StringComparison.Ordinal))));
        }
        Assert.False(queue.Add("d2", Status("""{"switch:0":{"output":true}}""")));

        var taken = queue.TakeAll();
        Assert.Equal(["d1", "d2"], taken.Select(t => t.Device));
        var only = Assert.Single(taken[0].Items);
        Assert.Equal("""{"switch:0":{"apower":999,"output":false},"sys":{"uptime":999}}""", only.Delta!.ToJsonString());
        Assert.Equal((999L, 0L, 0), (queue.Coalesced, queue.Dropped, queue.Count));
        Assert.Empty(queue.TakeAll());
    }

    [Theory]
    [InlineData("""{"a":{"x":1,"y":{"p":1}}}""", """{"a":{"y":{"q":2}},"b":3}""")]
    [InlineData("""{"a":{"x":1}}""", """{"a":null}""")]
    [InlineData("""{"a":null}""", """{"a":{"x":5}}""")]
    [InlineData("""{"a":7}""", """{"a":{"x":5}}""")]
    [InlineData("""{"a":{"x":{"deep":1}}}""", """{"a":{"x":2}}""")]
    public void Merged_deltas_apply_as_the_two_in_turn(string first, string second)
    {
        var stored = """{"a":{"x":0,"y":{"p":0,"r":0},"z":0},"b":1,"c":1}""";
        var oneByOne = new DeviceState("d");
        oneByOne.ReplaceStatus(Delta(stored));
        oneByOne.MergeStatus(Delta(first));
        oneByOne.MergeStatus(Delta(second));

        var queue = new FanoutQueue(64);
        queue.Add("d", Status(first));
        queue.Add("d", Status(second));
        var merged = new DeviceState("d");
        merged.ReplaceStatus(Delta(stored));
        foreach (var item in queue.TakeAll().Single().Items)
        {
            merged.MergeStatus(item.Delta!);
        }
        Assert.Equal(oneByOne.Status.ToJsonString(), merged.Status.ToJsonString());
    }

    [Fact]
    public void A_full_device_queue_drops_its_oldest_event_first_and_then_sends_its_state_whole()
    {
        var queue = new FanoutQueue(4);
        FanoutItem Event(int n) => new() { Kind = FanoutKind.Raw, IsEvent = true, Raw = [(byte)('0' + n)] };
        for (var n = 0; n < 6; n++)
        {
            queue.Add("d", Event(n));
        }
        // Four kept, the two oldest dropped and counted.
        Assert.Equal("2345", string.Concat(queue.TakeAll().Single().Items.Select(i => (char)i.Raw![0])));
        Assert.Equal(2, queue.Dropped);

        // Only state queued (deltas that cannot merge alternate with ownership messages): one resync replaces it all.
        for (var n = 0; n < 3; n++)
        {
            queue.Add("d", Status("""{"a":1}"""));
            queue.Add("d", new FanoutItem { Kind = FanoutKind.Raw, Raw = [(byte)'o'] });
        }
        var items = queue.TakeAll().Single().Items;
        Assert.Equal([FanoutKind.Resync, FanoutKind.Raw], items.Select(i => i.Kind));
        Assert.Equal(2, queue.Dropped);
        Assert.Equal(4, queue.Coalesced);

        // A newer config replaces a queued one; a config after an event does not jump it.
        queue.Add("d", new FanoutItem { Kind = FanoutKind.Raw, Coalesces = "config", Raw = [(byte)'1'] });
        queue.Add("d", new FanoutItem { Kind = FanoutKind.Raw, Coalesces = "config", Raw = [(byte)'2'] });
        queue.Add("d", Event(7));
        queue.Add("d", new FanoutItem { Kind = FanoutKind.Raw, Coalesces = "config", Raw = [(byte)'3'] });
        Assert.Equal("273", string.Concat(queue.TakeAll().Single().Items.Select(i => (char)i.Raw![0])));
    }
}
