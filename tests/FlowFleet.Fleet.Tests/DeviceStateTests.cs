using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Tests;

/// <summary>The status cache: deep merge of deltas, removal, full replacement, and component bytes rewritten in place.</summary>
public sealed class DeviceStateTests
{
    private static JsonObject O(string json) => JsonNode.Parse(json)!.AsObject();

    [Fact]
    public void Deltas_merge_deeply_grow_and_shrink_and_a_null_removes_a_component()
    {
        var d = new DeviceState("dev1");
        d.ReplaceStatus(O("""{"switch:0":{"output":true,"apower":12.5,"aenergy":{"total":100.25}},"wifi":{"rssi":-60},"sys":{"uptime":5}}"""));
        d.MergeStatus(O("""{"switch:0":{"apower":1234567.875,"aenergy":{"total":100000.5}},"ts":1}"""));
        d.MergeStatus(O("""{"switch:0":{"apower":0},"sys":null}"""));
        d.MergeStatus(O("""{"input:0":{"state":false}}"""));
        var expected = O("""{"switch:0":{"output":true,"apower":0,"aenergy":{"total":100000.5}},"wifi":{"rssi":-60},"input:0":{"state":false}}""");
        Assert.True(JsonNode.DeepEquals(expected, d.Status), d.Status.ToJsonString());
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(d.StatusJson())), d.StatusJson());
        Assert.DoesNotContain(' ', d.StatusJson());
        Assert.False(d.HasStatus("sys"));
        Assert.Equal(-60, d.StatusOf("wifi")!["rssi"]!.GetValue<int>());
    }

    [Fact]
    public void A_full_status_replaces_everything_and_drops_components_it_lacks()
    {
        var d = new DeviceState("dev1");
        d.ReplaceStatus(O("""{"switch:0":{"output":true,"extra":"long text that makes this component big"},"wifi":{"rssi":-60}}"""));
        d.ReplaceStatus(O("""{"switch:0":{"output":false}}"""));
        Assert.True(JsonNode.DeepEquals(O("""{"switch:0":{"output":false}}"""), d.Status), d.Status.ToJsonString());
        Assert.Equal("""{"switch:0":{"output":false}}""", d.StatusJson());
    }

    [Fact]
    public void Reports_that_fit_reuse_the_stored_bytes_and_longer_ones_get_new_ones()
    {
        var d = new DeviceState("dev1");
        d.ReplaceStatus(O("""{"switch:0":{"apower":10.5,"voltage":230.1}}"""));
        var stored = d.StatusBytes("switch:0");
        d.MergeStatus(O("""{"switch:0":{"apower":1}}"""));
        d.MergeStatus(O("""{"switch:0":{"apower":12.75}}"""));
        Assert.Same(stored, d.StatusBytes("switch:0"));
        Assert.Equal(12.75, d.StatusOf("switch:0")!["apower"]!.GetValue<double>());
        d.MergeStatus(O("""{"switch:0":{"note":"a much longer value than the slack the bytes were given"}}"""));
        Assert.NotSame(stored, d.StatusBytes("switch:0"));
        Assert.Equal("""{"switch:0":{"apower":12.75,"voltage":230.1,"note":"a much longer value than the slack the bytes were given"}}""", d.StatusJson());
    }

    [Theory]
    [InlineData("""{"a":1,"b":{"c":[1,2],"d":"x","e":{"f":true}},"g":"s"}""", """{"b":{"c":[3],"e":{"f":null,"h":1},"n":{"m":2}},"a":null,"z":"new"}""")]
    [InlineData("""{"apower":1.5,"aenergy":{"total":10,"by_minute":[1,2,3],"minute_ts":5}}""", """{"aenergy":{"by_minute":[4,5,6],"minute_ts":6},"apower":0}""")]
    [InlineData("""{"a":{"b":1}}""", """{"a":5}""")]
    [InlineData("""{"a":5}""", """{"a":{"b":1}}""")]
    [InlineData("""{"esc\u0061ped":1,"q":"say \"hi\""}""", """{"escaped":2,"q":"ok"}""")]
    public void Merging_from_the_stored_bytes_matches_merging_parsed_objects(string stored, string delta)
    {
        var d = new DeviceState("dev1");
        d.ReplaceStatus(O($$"""{"c:0":{{stored}}}"""));
        d.MergeStatus(O($$"""{"c:0":{{delta}}}"""));
        var expected = O(stored);
        FlowFleet.Fleet.Protocol.ShellyFrames.DeepMerge(expected, O(delta));
        Assert.True(JsonNode.DeepEquals(expected, d.StatusOf("c:0")), d.StatusJson());
    }

    [Fact]
    public void Info_and_config_are_kept_compressed_and_come_back_whole()
    {
        var device = new FlowFleet.DeviceSim.SimDevice(FlowFleet.DeviceSim.SimProfile.Find("plus1pm")!, 7);
        var config = device.Call("Shelly.GetConfig", null)!.AsObject();
        var packed = PackedJson.Pack(config);
        var plain = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(config).Length;
        Assert.True(packed.Length * 2 < plain, $"{packed.Length} bytes packed of {plain}");
        var d = new DeviceState("dev1") { Config = config, Info = O("""{"id":"dev1","gen":2}""") };
        Assert.True(JsonNode.DeepEquals(config, d.Config));
        Assert.True(JsonNode.DeepEquals(O("""{"id":"dev1","gen":2}"""), d.Info));
        Assert.NotSame(d.Config, d.Config);
    }
}
