using FlowFleet.Fleet.Protocol;

namespace FlowFleet.Nodes.Fleet.Tests;

/// <summary>The <c>shelly out</c> node: each action reaches the device as the matching RPC; bad payloads are clear errors.</summary>
public sealed class ShellyOutNodeTests
{
    private static string Out(string action, string targetType = "msg") => $$"""{"type":"shelly out","targetType":"{{targetType}}","action":"{{action}}","channel":0}""";

    private static bool Output(FleetFlow rig, string component) => rig.Fleet[rig.Ids[0]].Status(component)!["output"]!.GetValue<bool>();

    [Fact]
    public async Task Switch_follows_the_payload_on_off_and_toggle()
    {
        await using var rig = await FleetFlow.StartAsync(Out("switch"));
        var id = rig.Ids[0];
        foreach (var (payload, expected) in new[] { ("\"on\"", true), ("false", false), ("\"toggle\"", true), ("0", false), ("true", true), ("\"OFF\"", false) })
        {
            rig.Send($$"""{"topic":"{{id}}","payload":{{payload}}}""");
            var row = (await rig.OutAsync()).Payload![0]!;
            Assert.True(row["ok"]!.GetValue<bool>(), row.ToJsonString());
            Assert.Equal(expected, Output(rig, "switch:0"));
        }
    }

    [Theory]
    [InlineData("on", true, true)]
    [InlineData("off", true, false)]
    [InlineData("toggle", false, true)]
    public async Task Fixed_switch_actions_ignore_the_payload(string action, bool before, bool after)
    {
        await using var rig = await FleetFlow.StartAsync(Out(action, "all"));
        rig.Fleet[rig.Ids[0]].Call("Switch.Set", new() { ["id"] = 0, ["on"] = before });
        rig.Send("""{"payload":"whatever"}""");
        Assert.True((await rig.OutAsync()).Payload![0]!["ok"]!.GetValue<bool>());
        Assert.Equal(after, Output(rig, "switch:0"));
        var status = await rig.StatusAsync(t => t.Contains("1 ok", StringComparison.Ordinal));
        Assert.Equal("green", status["fill"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cover_actions_open_close_stop_and_position()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"shelly out","targetType":"msg","action":"cover-open","channel":0}""", profile: "plus2pm-cover",
            extra: """
                {"id":"close","type":"shelly out","z":"t","x":0,"y":0,"targetType":"msg","action":"cover-close","wires":[["out"]]},
                {"id":"stop","type":"shelly out","z":"t","x":0,"y":0,"targetType":"msg","action":"cover-stop","wires":[["out"]]},
                {"id":"pos","type":"shelly out","z":"t","x":0,"y":0,"targetType":"msg","action":"cover-position","wires":[["out"]]}
                """);
        var id = rig.Ids[0];
        var cover = rig.Fleet[id];
        string State() => cover.Status("cover:0")!["state"]!.GetValue<string>();
        rig.Send($$"""{"topic":"{{id}}"}""");
        Assert.True((await rig.OutAsync()).Payload![0]!["ok"]!.GetValue<bool>());
        Assert.Equal("opening", State());
        rig.Flow.SendJson("stop", $$"""{"topic":"{{id}}"}""");
        await rig.OutAsync();
        Assert.Equal("stopped", State());
        rig.Flow.SendJson("close", $$"""{"topic":"{{id}}"}""");
        await rig.OutAsync();
        Assert.Equal("closing", State());
        rig.Flow.SendJson("pos", $$"""{"topic":"{{id}}","payload":"40"}""");
        await rig.OutAsync();
        await Poll.UntilAsync(() => cover.Status("cover:0")!["current_pos"]!.GetValue<int>() == 40, "cover at 40%");
    }

    [Fact]
    public async Task Light_follows_the_payload_and_brightness_sets_the_level()
    {
        await using var rig = await FleetFlow.StartAsync(Out("light"), profile: "dimmer",
            extra: """{"id":"dim","type":"shelly out","z":"t","x":0,"y":0,"targetType":"msg","action":"brightness","channel":0,"wires":[["out"]]}""");
        var id = rig.Ids[0];
        rig.Send($$"""{"topic":"{{id}}","payload":"on"}""");
        await rig.OutAsync();
        Assert.True(Output(rig, "light:0"));
        rig.Send($$"""{"topic":"{{id}}","payload":"toggle"}""");
        await rig.OutAsync();
        Assert.False(Output(rig, "light:0"));
        rig.Flow.SendJson("dim", $$"""{"topic":"{{id}}","payload":30}""");
        await rig.OutAsync();
        Assert.True(Output(rig, "light:0"));
        Assert.Equal(30, rig.Fleet[id].Status("light:0")!["brightness"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("switch", "\"maybe\"", "shelly out: msg.payload must be true/false/on/off/toggle, not 'maybe'")]
    [InlineData("brightness", "150", "shelly out: msg.payload must be a number 0-100")]
    [InlineData("cover-position", "\"half\"", "shelly out: msg.payload must be a number 0-100")]
    [InlineData("dance", "1", "shelly out: unknown action 'dance'")]
    public async Task Bad_payloads_and_actions_are_clear_errors_and_nothing_is_sent(string action, string payload, string error)
    {
        await using var rig = await FleetFlow.StartAsync(Out(action));
        var requests = rig.Fleet[rig.Ids[0]].Requests;
        rig.Send($$"""{"topic":"{{rig.Ids[0]}}","payload":{{payload}}}""");
        Assert.Equal(error, await rig.ErrorAsync());
        await rig.Flow.AssertNothingAsync("out");
        Assert.Equal(requests, rig.Fleet[rig.Ids[0]].Requests);
    }

    [Fact]
    public async Task No_target_is_an_error()
    {
        await using var rig = await FleetFlow.StartAsync(Out("on"));
        rig.Send("""{"payload":1}""");
        Assert.StartsWith("shelly out: no target device", await rig.ErrorAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_single_device_that_refuses_sends_its_row_and_raises_an_error()
    {
        await using var rig = await FleetFlow.StartAsync(Out("on"));
        var id = rig.Ids[0];
        rig.Fleet[id].Fault = (_, _) => new ShellyRpcException(ShellyRpcException.Unavailable, "Relay overheated");
        rig.Send($$"""{"topic":"{{id}}"}""");
        var row = (await rig.OutAsync()).Payload![0]!;
        Assert.False(row["ok"]!.GetValue<bool>());
        Assert.Equal($"Switch.Set on {id} failed: Relay overheated", await rig.ErrorAsync());
        var status = await rig.StatusAsync(t => t.Contains("failed", StringComparison.Ordinal));
        Assert.Equal("red", status["fill"]!.GetValue<string>());
    }
}
