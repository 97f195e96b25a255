using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.Nodes.Fleet.Tests;

/// <summary>The <c>rpc call</c> node: one device, several devices, params from the node or the message, and its errors.</summary>
public sealed class RpcCallNodeTests
{
    [Fact]
    public async Task One_device_answers_on_the_payload_with_params_filled_from_the_message()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"rpc call","targetType":"msg","method":"Switch.Set","params":"{\"id\":0,\"on\":{{payload}}}"}""");
        var id = rig.Ids[0];
        rig.Send($$"""{"topic":"{{id}}","payload":true}""");
        var msg = await rig.OutAsync();
        Assert.Equal(id, msg.Data["topic"]!.GetValue<string>());
        Assert.False(msg.Payload!["was_on"]!.GetValue<bool>());
        Assert.True(rig.Fleet[id].Status("switch:0")!["output"]!.GetValue<bool>());
        var status = await rig.StatusAsync(t => t.StartsWith("Switch.Set ok", StringComparison.Ordinal));
        Assert.Equal("green", status["fill"]!.GetValue<string>());
    }

    [Fact]
    public async Task Method_and_params_come_from_the_message_when_the_node_has_none()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"rpc call","targetType":"msg","method":"","params":""}""");
        var id = rig.Ids[0];
        // msg.device as the device info object a shelly in node sends names the device.
        rig.Send($$$"""{"device":{"id":"{{{id}}}","name":"x"},"method":"Switch.Set","params":{"id":0,"on":true},"payload":{"id":0,"on":false}}""");
        Assert.False((await rig.OutAsync()).Payload!["was_on"]!.GetValue<bool>());
        Assert.True(rig.Fleet[id].Status("switch:0")!["output"]!.GetValue<bool>());
        // Without msg.params an object payload is the params.
        rig.Send($$$"""{"device":"{{{id}}}","method":"Switch.Set","payload":{"id":0,"on":false}}""");
        Assert.True((await rig.OutAsync()).Payload!["was_on"]!.GetValue<bool>());
        Assert.False(rig.Fleet[id].Status("switch:0")!["output"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_device_error_goes_to_catch_with_msg_error_and_a_red_status()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"rpc call","targetType":"msg","method":"Switch.Set","params":"{\"id\":9,\"on\":true}"}""");
        var id = rig.Ids[0];
        rig.Send($$"""{"topic":"{{id}}"}""");
        var caught = await rig.Flow.NextAsync("err");
        Assert.Contains("Switch.Set on " + id + " failed", caught.Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(id, caught.Data["topic"]!.GetValue<string>());
        // The node's msg.error (code and device) is kept as msg._error under the catch node's error, as Node-RED does.
        Assert.Equal(ShellyRpcException.NotFound, caught.Data["_error"]!["code"]!.GetValue<int>());
        Assert.Equal(id, caught.Data["_error"]!["device"]!.GetValue<string>());
        var status = await rig.StatusAsync(t => t == ShellyRpcException.NotFound.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("red", status["fill"]!.GetValue<string>());
        await rig.Flow.AssertNothingAsync("out");
    }

    [Theory]
    [InlineData("""{"type":"rpc call","targetType":"msg","method":"","params":""}""", """{"topic":"DEV"}""", "rpc call: no method")]
    [InlineData("""{"type":"rpc call","targetType":"msg","method":"Shelly.GetStatus","params":""}""", """{"payload":1}""", "rpc call: no target device")]
    [InlineData("""{"type":"rpc call","targetType":"msg","method":"Shelly.GetStatus","params":"{\"id\":"}""", """{"topic":"DEV"}""", "rpc call: params is not valid JSON")]
    [InlineData("""{"type":"rpc call","targetType":"group","target":"nobody","method":"Shelly.GetStatus","params":""}""", """{"topic":"DEV"}""", "rpc call: no target device")]
    public async Task Bad_input_is_a_clear_error(string node, string msg, string error)
    {
        await using var rig = await FleetFlow.StartAsync(node);
        rig.Send(msg.Replace("DEV", rig.Ids[0], StringComparison.Ordinal));
        Assert.StartsWith(error, await rig.ErrorAsync(), StringComparison.Ordinal);
        await rig.Flow.AssertNothingAsync("out");
    }

    [Fact]
    public async Task Several_devices_send_one_array_with_a_row_per_device_and_failures_counted_in_the_status()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"rpc call","server":"srv","targetType":"all","method":"Switch.Toggle","params":"{\"id\":0}","output":"array"}""", devices: 3,
            extra: """{"id":"srv","type":"fleet server","z":"t","timeout":5,"concurrency":2}""");
        var broken = rig.Ids[1];
        rig.Fleet[broken].Fault = (method, _) => method == "Switch.Toggle" ? new ShellyRpcException(-114, "Relay overheated") : null;
        rig.Send("""{"payload":""}""");
        var rows = (await rig.OutAsync()).Payload!.AsArray();
        Assert.Equal(rig.Ids.Order(), rows.Select(r => r!["id"]!.GetValue<string>()).Order());
        var bad = rows.Single(r => r!["id"]!.GetValue<string>() == broken)!;
        Assert.False(bad["ok"]!.GetValue<bool>());
        Assert.Contains("Relay overheated", bad["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(2, rows.Count(r => r!["ok"]!.GetValue<bool>()));
        var status = await rig.StatusAsync(t => t.StartsWith("Switch.Toggle:", StringComparison.Ordinal));
        Assert.Equal("Switch.Toggle: 1/3 failed", status["text"]!.GetValue<string>());
        Assert.Equal("yellow", status["fill"]!.GetValue<string>());
    }

    [Fact]
    public async Task Each_output_sends_a_message_per_device_with_the_error_on_the_failed_one()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"rpc call","targetType":"msg","method":"Switch.Set","params":"{\"id\":0,\"on\":true}","output":"each"}""", devices: 2);
        var (good, broken) = (rig.Ids[0], rig.Ids[1]);
        rig.Fleet[broken].Fault = (_, _) => new ShellyRpcException(-114, "Relay overheated");
        // A list in msg.device addresses each device even in msg mode.
        rig.Send($$"""{"device":["{{good}}","{{broken}}","{{good}}"]}""");
        var messages = await rig.Flow.TakeAsync("out", 2);
        var ok = messages.Single(m => m.Data["topic"]!.GetValue<string>() == good);
        Assert.False(ok.Payload!["was_on"]!.GetValue<bool>());
        Assert.Null(ok.Data["error"]);
        var failed = messages.Single(m => m.Data["topic"]!.GetValue<string>() == broken);
        Assert.Null(failed.Payload);
        Assert.Equal(-114, failed.Data["error"]!["code"]!.GetValue<int>());
        Assert.Equal(broken, failed.Data["error"]!["device"]!.GetValue<string>());
        await rig.Flow.AssertNothingAsync("out");
    }

    [Fact]
    public async Task Tags_and_groups_named_in_the_message_pick_their_members()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"rpc call","targetType":"tag","target":"roof","method":"Sys.GetStatus","params":""}""", devices: 3);
        await rig.Host.Devices.SetTagsAsync(rig.Ids[2], ["roof"]);
        rig.Send("""{"payload":""}""");
        var rows = (await rig.OutAsync()).Payload!.AsArray();
        Assert.Equal(rig.Ids[2], Assert.Single(rows)!["id"]!.GetValue<string>());
        Assert.NotNull(rows[0]!["result"]!["mac"]);
    }
}
