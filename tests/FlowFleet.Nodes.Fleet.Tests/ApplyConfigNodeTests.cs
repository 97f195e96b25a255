using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.Nodes.Fleet.Tests;

/// <summary>The <c>apply config</c> node: plans only the keys that differ, applies them, copies from a source device.</summary>
public sealed class ApplyConfigNodeTests
{
    [Fact]
    public async Task A_dry_run_plans_only_differing_keys_and_a_real_run_applies_the_message_template()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"apply config","targetType":"all","source":"template","template":"","dryRun":true}""", devices: 2,
            extra: """{"id":"apply","type":"apply config","z":"t","x":0,"y":0,"targetType":"msg","source":"template","template":"","wires":[["out"]]}""");
        var (a, b) = (rig.Ids[0], rig.Ids[1]);
        // Already named on device b: only auto_off is planned there.
        rig.Fleet[b].Call("Switch.SetConfig", new JsonObject { ["id"] = 0, ["config"] = new JsonObject { ["name"] = "Pump" } });
        // The plan compares with the config the registry holds: wait until it has both devices' (read after connecting) and b's change.
        await Poll.UntilAsync(() => rig.Host.Devices.Get(a)?.Config?["switch:0"] is not null
            && rig.Host.Devices.Get(b)?.Config?["switch:0"]?["name"]?.GetValue<string>() == "Pump", "the configs read");
        const string Template = """{"switch:0":{"name":"Pump","auto_off":true}}""";
        rig.Send($$"""{"payload":{{Template}}}""");
        var planned = (await rig.OutAsync()).Payload!.AsArray();
        Assert.Equal(2, planned.Count);
        Assert.All(planned, p => Assert.Equal("Switch.SetConfig", p!["method"]!.GetValue<string>()));
        Assert.Equal(["auto_off", "name"], planned.Single(p => p!["id"]!.GetValue<string>() == a)!["changes"]!.AsArray().Select(x => x!.GetValue<string>()).Order());
        Assert.Equal(["auto_off"], planned.Single(p => p!["id"]!.GetValue<string>() == b)!["changes"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.False(rig.Fleet[a].Config("switch:0")!["auto_off"]!.GetValue<bool>());
        Assert.Equal("dry run: 2 calls", (await rig.StatusAsync(t => t.StartsWith("dry run", StringComparison.Ordinal)))["text"]!.GetValue<string>());

        rig.Flow.SendJson("apply", $$"""{"topic":"{{a}}","payload":{{Template}}}""");
        var row = Assert.Single((await rig.OutAsync()).Payload!.AsArray())!;
        Assert.True(row["ok"]!.GetValue<bool>(), row.ToJsonString());
        Assert.True(rig.Fleet[a].Config("switch:0")!["auto_off"]!.GetValue<bool>());
        Assert.Equal("Pump", rig.Fleet[a].Config("switch:0")!["name"]!.GetValue<string>());
        Assert.False(rig.Fleet[b].Config("switch:0")!["auto_off"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Copying_from_a_device_leaves_the_source_out_and_reports_refusals()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"apply config","targetType":"all","source":"device","sourceDevice":"shellyplus1pm-c0ffee000000","components":"switch:0"}""", devices: 3);
        // The simulator's ids are fixed: the first Plus 1PM is the source the node names.
        var (source, refusing) = (rig.Ids[0], rig.Ids[2]);
        Assert.Equal("shellyplus1pm-c0ffee000000", source);
        rig.Fleet[source].Call("Switch.SetConfig", new JsonObject { ["id"] = 0, ["config"] = new JsonObject { ["in_mode"] = "detached" } });
        await Poll.UntilAsync(() => rig.Host.Devices.Get(source)?.Config?["switch:0"]?["in_mode"]?.GetValue<string>() == "detached", "the source config re-read");
        await Poll.UntilAsync(() => rig.Ids.All(id => rig.Host.Devices.Get(id)?.Config?["switch:0"] is not null), "every config read");
        rig.Fleet[refusing].Fault = (method, _) => method == "Switch.SetConfig" ? new ShellyRpcException(ShellyRpcException.FailedPrecondition, "Locked") : null;
        rig.Send("""{"payload":""}""");
        var rows = (await rig.OutAsync()).Payload!.AsArray();
        Assert.Equal(new[] { rig.Ids[1], refusing }, rows.Select(r => r!["id"]!.GetValue<string>()).Order());
        Assert.Equal("detached", rig.Fleet[rig.Ids[1]].Config("switch:0")!["in_mode"]!.GetValue<string>());
        Assert.Contains("Locked", rows.Single(r => r!["id"]!.GetValue<string>() == refusing)!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var status = await rig.StatusAsync(t => t.Contains("failed", StringComparison.Ordinal));
        Assert.Equal("1/2 failed", status["text"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"type":"apply config","targetType":"all","source":"device","sourceDevice":"gone"}""", """{"payload":{}}""", "apply config: source device 'gone' is unknown")]
    [InlineData("""{"type":"apply config","targetType":"all","source":"template","template":"[1,2]"}""", """{"payload":{}}""", "apply config: the template must be a JSON object")]
    [InlineData("""{"type":"apply config","targetType":"all","source":"template","template":""}""", """{"payload":"switch:0"}""", "apply config: no template (set one or send an object in msg.payload)")]
    public async Task Missing_sources_and_templates_are_clear_errors(string node, string msg, string error)
    {
        await using var rig = await FleetFlow.StartAsync(node);
        rig.Send(msg);
        Assert.Equal(error, await rig.ErrorAsync());
        await rig.Flow.AssertNothingAsync("out");
    }
}
