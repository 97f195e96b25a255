using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;
using FlowFleet.Nodes.Fleet;

namespace FlowFleet.Nodes.Fleet.Tests;

/// <summary><c>msg.device</c> from the per-device cache: the same JSON as built per event, its own object per message.</summary>
public sealed class DeviceInfoCacheTests
{
    private static readonly JsonSerializerOptions[] Writers =
        [JsonSerializerOptions.Default, new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true }];

    [Fact]
    public void Msg_device_writes_the_same_json_as_the_object_built_per_event_and_follows_the_devices_changes()
    {
        var d = new DeviceState("shellyplus1pm-a1") { Name = "Küche \"main\" <1>", Model = "SNSW-001P16EU", App = "Plus1PM", Gen = 2, Online = true };
        AssertSame(d, d.Id);

        d.Online = false;
        d.Name = null;
        AssertSame(d, d.Id);
        d.Gen = 3;
        d.App = "Pro4PM";
        AssertSame(d, d.Id);
        AssertSame(d, "another-id");
        AssertSame(null, "unknown");
    }

    [Fact]
    public void A_flow_changing_one_messages_device_changes_no_other_message()
    {
        var d = new DeviceState("shellyplus1pm-b2") { Name = "n", Model = "m", App = "a", Online = true };
        var first = DeviceInfoCache.For(d, d.Id);
        first["name"] = "changed";
        first.Remove("gen");
        first["extra"] = new JsonObject { ["x"] = 1 };

        var second = DeviceInfoCache.For(d, d.Id);
        Assert.NotSame(first, second);
        Assert.Equal(FleetTargets.DeviceInfo(d, d.Id).ToJsonString(), second.ToJsonString());
        Assert.Equal("""{"id":"shellyplus1pm-b2","name":"changed","model":"m","app":"a","online":true,"extra":{"x":1}}""", first.ToJsonString());
        Assert.Equal("n", second["name"]!.GetValue<string>());
        Assert.Equal(2, second["gen"]!.GetValue<int>());
        Assert.True(second["online"]!.GetValue<bool>());
    }

    private static void AssertSame(DeviceState? d, string id)
    {
        foreach (var writer in Writers)
        {
            Assert.Equal(FleetTargets.DeviceInfo(d, id).ToJsonString(writer), DeviceInfoCache.For(d, id).ToJsonString(writer));
        }
    }
}
