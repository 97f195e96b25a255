namespace FlowFleet.Nodes.Fleet.Tests;

/// <summary>The <c>device registry</c> node: reads and changes the registry the hub and the API use.</summary>
public sealed class DeviceRegistryNodeTests
{
    private const string ByMessage = """{"type":"device registry","action":"msg"}""";

    [Fact]
    public async Task Get_sends_the_device_details_and_an_unknown_device_is_an_error()
    {
        await using var rig = await FleetFlow.StartAsync(ByMessage);
        var id = rig.Ids[0];
        rig.Send($$"""{"action":"get","topic":"{{id}}"}""");
        var details = (await rig.OutAsync()).Payload!;
        Assert.Equal(id, details["id"]!.GetValue<string>());
        Assert.NotNull(details["status"]!["switch:0"]);
        Assert.Contains("Switch.Set", details["methods"]!.AsArray().Select(m => m!.GetValue<string>()));
        rig.Send("""{"action":"get","topic":"nope-123"}""");
        Assert.Equal("device registry: unknown device 'nope-123'", await rig.ErrorAsync());
    }

    [Fact]
    public async Task Tags_and_groups_are_added_and_removed_and_list_filters_by_them()
    {
        await using var rig = await FleetFlow.StartAsync(ByMessage, devices: 2);
        var (a, b) = (rig.Ids[0], rig.Ids[1]);
        rig.Send($$"""{"action":"tag","topic":"{{a}}","payload":"roof"}""");
        Assert.Equal("""["roof"]""", (await rig.OutAsync()).Payload!.ToJsonString());
        rig.Send($$"""{"action":"tag","topic":"{{a}}","payload":"south"}""");
        await rig.OutAsync();
        rig.Send($$"""{"action":"untag","topic":"{{a}}","payload":"ROOF"}""");
        Assert.Equal("""["south"]""", (await rig.OutAsync()).Payload!.ToJsonString());
        rig.Send($$"""{"action":"group-add","topic":"{{b}}","payload":"pumps"}""");
        Assert.Equal("""["pumps"]""", (await rig.OutAsync()).Payload!.ToJsonString());
        Assert.Equal([b], rig.Host.Groups.Members("pumps"));

        rig.Send("""{"action":"list","filter":{"tag":"south"}}""");
        var south = await rig.OutAsync();
        Assert.Equal(a, Assert.Single(south.Payload!.AsArray())!["id"]!.GetValue<string>());
        Assert.Equal(1, south.Data["total"]!.GetValue<int>());
        rig.Send("""{"action":"list","filter":{"group":"pumps","online":true}}""");
        Assert.Equal(b, Assert.Single((await rig.OutAsync()).Payload!.AsArray())!["id"]!.GetValue<string>());
        rig.Send("""{"action":"list","filter":{"online":false}}""");
        Assert.Empty((await rig.OutAsync()).Payload!.AsArray());

        rig.Send($$"""{"action":"group-remove","topic":"{{b}}","payload":"pumps"}""");
        Assert.Equal("[]", (await rig.OutAsync()).Payload!.ToJsonString());
        Assert.Empty(rig.Host.Groups.Members("pumps"));
    }

    [Fact]
    public async Task Set_desired_switches_an_online_device_and_get_desired_reads_it_back()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"device registry","action":"set-desired"}""",
            extra: """{"id":"get","type":"device registry","z":"t","x":0,"y":0,"action":"get-desired","wires":[["out"]]}""");
        var id = rig.Ids[0];
        rig.Send($$$$"""{"topic":"{{{{id}}}}","payload":{"switch:0":{"output":true}}}""");
        var set = await rig.OutAsync();
        Assert.StartsWith("Switch.Set", Assert.Single(set.Data["applied"]!.AsArray())!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(rig.Fleet[id].Status("switch:0")!["output"]!.GetValue<bool>());
        rig.Flow.SendJson("get", $$"""{"topic":"{{id}}"}""");
        var got = (await rig.OutAsync()).Payload!;
        Assert.True(got["desired"]!["switch:0"]!["output"]!.GetValue<bool>());
        Assert.NotNull(got["reported"]!["switch:0"]);

        rig.Send($$"""{"topic":"{{id}}","payload":"on"}""");
        Assert.Equal("device registry: set-desired needs an object in msg.payload", await rig.ErrorAsync());
    }

    [Fact]
    public async Task Upsert_adds_a_device_that_is_not_a_shelly()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"device registry","action":"upsert","device":"solar-gw"}""", devices: 0);
        rig.Send("""{"payload":{"name":"Solar gateway","model":"SG-1","status":{"pv":{"power":812}}}}""");
        var summary = (await rig.OutAsync()).Payload!;
        Assert.Equal("solar-gw", summary["id"]!.GetValue<string>());
        Assert.Equal("Solar gateway", summary["name"]!.GetValue<string>());
        Assert.Equal(812, rig.Host.Devices.Get("solar-gw")!.Status!["pv"]!["power"]!.GetValue<int>());
        rig.Send("""{"payload":"not an object"}""");
        Assert.StartsWith("device registry: upsert needs an object in msg.payload", await rig.ErrorAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"action":"tag","topic":"DEV","payload":"  "}""", "device registry: tag needs msg.payload")]
    [InlineData("""{"action":"reboot","topic":"DEV"}""", "device registry: unknown action 'reboot'")]
    [InlineData("""{"topic":"DEV"}""", "device registry: unknown action 'undefined'")]
    public async Task Bad_requests_are_clear_errors(string msg, string error)
    {
        await using var rig = await FleetFlow.StartAsync(ByMessage);
        rig.Send(msg.Replace("DEV", rig.Ids[0], StringComparison.Ordinal));
        Assert.Equal(error, await rig.ErrorAsync());
        await rig.Flow.AssertNothingAsync("out");
    }
}
