using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Tests;

/// <summary>Issue 13 item 4: a device can't grow its status (and the server's work per frame) without bound, and no shape of
/// status makes a reader throw.</summary>
public sealed class StatusLimitsTests
{
    private static JsonObject O(string json) => JsonNode.Parse(json)!.AsObject();

    private static JsonObject Components(int count, string prefix = "c") =>
        new(Enumerable.Range(0, count).Select(i => KeyValuePair.Create($"{prefix}:{i}", (JsonNode?)new JsonObject { ["v"] = i })));

    [Fact]
    public void A_report_with_more_components_than_a_device_may_have_is_dropped_whole()
    {
        var d = new DeviceState("dev1");
        var limits = new StatusLimits(100, 1000, 1 << 20);
        Assert.Equal(5000, d.MergeStatus(Components(5000), limits));
        Assert.Empty(d.Status);
        Assert.Equal(5000, d.ReplaceStatus(Components(5000), limits));
        Assert.Empty(d.Status);
    }

    [Fact]
    public void Components_keys_and_bytes_past_the_limits_are_not_stored_and_the_rest_is()
    {
        var d = new DeviceState("dev1");
        var limits = new StatusLimits(10, 50, 2000);
        // Components: the 11th and later of a growing device are refused, frame after frame.
        Assert.Equal(0, d.MergeStatus(Components(8), limits));
        Assert.Equal(2, d.MergeStatus(Components(4, "n"), limits));
        Assert.Equal(10, d.Status.Count);
        Assert.Equal(1, d.MergeStatus(Components(1, "x"), limits));
        // Keys in one component, at any depth: merged in step by step they still can't pass the cap.
        var wide = new JsonObject(Enumerable.Range(0, 60).Select(i => KeyValuePair.Create($"k{i}", (JsonNode?)i)));
        Assert.Equal(1, d.MergeStatus(new JsonObject { ["c:0"] = new JsonObject { ["deep"] = wide } }, limits));
        for (var i = 0; i < 60; i++)
        {
            d.MergeStatus(new JsonObject { ["c:1"] = new JsonObject { [$"k{i}"] = i } }, limits);
        }
        Assert.Equal(50, d.StatusOf("c:1")!.AsObject().Count);
        // Bytes: a component that would take the whole status past the cap is refused; the stored one stays.
        Assert.Equal(1, d.MergeStatus(new JsonObject { ["c:2"] = new JsonObject { ["text"] = new string('x', 3000) } }, limits));
        Assert.Equal(2, d.StatusOf("c:2")!["v"]!.GetValue<int>());
        // Removing components gives their budget back.
        d.MergeStatus(new JsonObject { ["c:1"] = null }, limits);
        Assert.Equal(0, d.MergeStatus(new JsonObject { ["x:0"] = new JsonObject { ["v"] = 1 } }, limits));
    }

    [Fact]
    public void A_wide_delta_merges_like_the_parsed_merge()
    {
        var stored = new JsonObject(Enumerable.Range(0, 300).Select(i => KeyValuePair.Create($"k{i}", (JsonNode?)i)));
        var delta = new JsonObject(Enumerable.Range(150, 300).Select(i => KeyValuePair.Create($"k{i}", (JsonNode?)(i % 7 == 0 ? null : -i))));
        var d = new DeviceState("dev1");
        d.ReplaceStatus(new JsonObject { ["c:0"] = stored.DeepClone() });
        d.MergeStatus(new JsonObject { ["c:0"] = delta.DeepClone() });
        FlowFleet.Fleet.Protocol.ShellyFrames.DeepMerge(stored, delta);
        Assert.True(JsonNode.DeepEquals(stored, d.StatusOf("c:0")), d.StatusJson());
    }

    /// <summary>Every field a reader looks at, with the wrong type.</summary>
    internal const string WrongTypes = """
        {"switch:0":{"id":0,"output":"yes","apower":"abc","aenergy":[1,2],"voltage":{"a":1}},"wifi":[1,2],
         "cover:0":{"current_pos":"x","state":7},"temperature:0":{"tC":{"a":1}},"humidity:0":{"rh":[]},
         "light:0":{"output":1,"brightness":[]},"devicepower:0":{"battery":3},"em:0":{"total_act_power":1e400,"total_act":"1"},
         "switch:1":{"output":true,"apower":1.5,"aenergy":{"total":[]},"temperature":"hot"},"sys":5,"input:0":null}
        """;

    [Fact]
    public void Summary_details_readings_and_telemetry_read_any_shape_of_status()
    {
        var d = new DeviceState("dev1");
        d.ReplaceStatus(O(WrongTypes));
        var summary = d.Summary([]);
        Assert.Null(summary["rssi"]);
        var readings = summary["readings"]!.AsObject();
        Assert.Equal(1.5, readings["power"]!.GetValue<double>());
        Assert.True(readings["switch:1"]!.GetValue<bool>());
        Assert.False(readings.ContainsKey("switch:0"));
        Assert.False(readings.ContainsKey("temperature"));
        Assert.False(readings.ContainsKey("energyKWh"));
        Assert.NotNull(d.Details([]).ToJsonString());
        var fields = new List<KeyValuePair<string, double>>();
        foreach (var (key, value) in d.Status)
        {
            if (value is JsonObject o)
            {
                FlowFleet.Fleet.Protocol.ShellyFrames.FlattenNumbers(o, key, fields);
            }
        }
        Assert.DoesNotContain(fields, f => !double.IsFinite(f.Value));
        Assert.Contains(fields, f => f.Key == "switch:1.apower");
    }

    [Fact]
    public async Task An_anonymous_device_inventing_keys_every_frame_keeps_a_few_KiB_and_an_admitted_one_its_limits()
    {
        await using var host = await FleetHost.StartAsync(o => o.Admission = "manual");
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(host.ShellyUrl), CancellationToken.None);
        const string id = "shellyplus1-key-grower";
        for (var frame = 0; frame < 20; frame++)
        {
            // Each frame adds 200 new components of 10 keys (~30 KiB), all under the frame size limit.
            var p = new JsonObject();
            for (var c = 0; c < 200; c++)
            {
                p[$"k{frame}x{c}:0"] = new JsonObject(Enumerable.Range(0, 10).Select(k => KeyValuePair.Create($"f{k}", (JsonNode?)k)));
            }
            var text = new JsonObject { ["src"] = id, ["method"] = frame == 0 ? "NotifyFullStatus" : "NotifyStatus", ["params"] = p }.ToJsonString();
            await ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
        }
        await ws.SendAsync(Encoding.UTF8.GetBytes("""{"src":"ID","method":"NotifyStatus","params":{"last:0":{"v":1}}}""".Replace("ID", id, StringComparison.Ordinal)), WebSocketMessageType.Text, true, CancellationToken.None);
        await Poll.UntilAsync(() => host.Devices.Get(id)?.HasStatus("last:0") == true, "the last frame handled");
        var state = host.Devices.Get(id)!;
        lock (state.Gate)
        {
            Assert.True(state.StatusJson().Length <= 4096, $"{state.StatusJson().Length} bytes kept for a pending device");
        }
        Assert.Equal(WebSocketState.Open, ws.State);
    }
}
