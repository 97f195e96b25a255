using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Nodes.Fleet.Tests;

/// <summary>The <c>shelly in</c> node: which device events become messages, and what they carry.</summary>
public sealed class ShellyInNodeTests
{
    [Fact]
    public async Task An_event_filter_on_one_component_passes_only_that_component()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"shelly in","targetType":"device","target":"","events":"event","component":"input:2"}""", profile: "i4");
        var id = rig.Ids[0];
        rig.Fleet[id].Press(1);
        rig.Fleet[id].Press(2, "double_push");
        var msg = await rig.OutAsync();
        Assert.Equal("input:2", msg.Data["component"]!.GetValue<string>());
        Assert.Equal("event", msg.Data["kind"]!.GetValue<string>());
        Assert.Equal("double_push", msg.Payload!["event"]!.GetValue<string>());
        Assert.Equal(id, msg.Data["topic"]!.GetValue<string>());
        Assert.Equal(id, msg.Data["device"]!["id"]!.GetValue<string>());
        Assert.Equal("PlusI4", msg.Data["device"]!["app"]!.GetValue<string>());
        var status = await rig.StatusAsync(t => t == "1 events");
        Assert.Equal("green", status["fill"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_tag_target_follows_tags_changed_after_deploy()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"shelly in","targetType":"tag","target":"watch","events":"status","component":"switch"}""", devices: 2);
        var (other, watched) = (rig.Ids[0], rig.Ids[1]);
        // Tagged after the node started: the node learns its members from the registry's change notice.
        await rig.Host.Devices.SetTagsAsync(watched, ["watch"]);
        rig.Fleet[other].Call("Switch.Set", new() { ["id"] = 0, ["on"] = true });
        rig.Fleet[watched].Call("Switch.Set", new() { ["id"] = 0, ["on"] = true });
        FlowMessage msg;
        do
        {
            msg = await rig.OutAsync();
            Assert.Equal(watched, msg.Data["topic"]!.GetValue<string>());
            Assert.Equal("status", msg.Data["kind"]!.GetValue<string>());
            Assert.All(msg.Payload!.AsObject(), p => Assert.StartsWith("switch:", p.Key, StringComparison.Ordinal));
        }
        while (msg.Payload!["switch:0"]?["output"]?.GetValue<bool>() != true);
        Assert.Equal("switch:0", msg.Data["component"]!.GetValue<string>());
    }

    [Fact]
    public async Task Each_node_gets_its_own_copy_of_a_status_report_without_ts_and_a_flow_changing_one_leaves_the_other_alone()
    {
        // n (switch components) feeds a change node that rewrites its message's switch:0.output; n2 (every component) the
        // helper "local". Both read the same report of each frame (the event's parsed copy): neither may see the other's change.
        await using var rig = await FleetFlow.StartAsync("""{"type":"shelly in","targetType":"all","events":"status","component":"switch"}""", wire: "chg",
            extra: """
                {"id":"chg","type":"change","z":"t","rules":[{"t":"set","p":"payload[\"switch:0\"].output","pt":"msg","to":"changed","tot":"str"}],"x":0,"y":0,"wires":[["out"]]},
                {"id":"n2","type":"shelly in","z":"t","targetType":"all","events":"status","component":"","x":0,"y":0,"wires":[["local"]]},
                {"id":"local","type":"helper","z":"t","x":0,"y":0,"wires":[]}
                """);
        rig.Fleet[rig.Ids[0]].Call("Switch.Set", new() { ["id"] = 0, ["on"] = true });
        FlowMessage mine;
        do
        {
            mine = await rig.Flow.NextAsync("local");
            Assert.False(mine.Payload!.AsObject().ContainsKey("ts"));
            Assert.NotEqual(JsonValueKind.String, mine.Payload["switch:0"]?["output"]?.GetValueKind());
        }
        while (mine.Payload["switch:0"]?["output"]?.GetValue<bool>() != true);
        var changed = await rig.OutAsync();
        Assert.Equal("changed", changed.Payload!["switch:0"]!["output"]!.GetValue<string>());
        Assert.False(changed.Payload.AsObject().ContainsKey("ts"));
        Assert.All(changed.Payload.AsObject(), p => Assert.StartsWith("switch:", p.Key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Msg_device_is_the_registrys_and_a_device_removed_while_connected_reports_with_its_id_only()
    {
        // Status events carry the state the hub updated; msg.device still says what the registry holds: nothing, once a
        // user removed the device, even while its connection goes on reporting.
        await using var rig = await FleetFlow.StartAsync("""{"type":"shelly in","targetType":"all","events":"status","component":"switch:0"}""");
        var id = rig.Ids[0];
        rig.Fleet[id].Call("Switch.Set", new() { ["id"] = 0, ["on"] = true });
        var on = await NextWithOutputAsync(rig, true);
        Assert.Equal(FleetTargets.DeviceInfo(rig.Host.Devices.Get(id), id).ToJsonString(), on.Data["device"]!.ToJsonString());
        Assert.Equal("Plus1PM", on.Data["device"]!["app"]!.GetValue<string>());

        await rig.Host.Devices.RemoveAsync(id);
        rig.Fleet[id].Call("Switch.Set", new() { ["id"] = 0, ["on"] = false });
        var off = await NextWithOutputAsync(rig, false);
        Assert.Null(rig.Host.Devices.Get(id));
        Assert.Equal(new JsonObject { ["id"] = id }.ToJsonString(), off.Data["device"]!.ToJsonString());
    }

    [Fact]
    public async Task Each_component_keeps_its_own_name_over_many_reports()
    {
        // A Pro 3EM reports em:0, emdata:0 and sys, one or several per frame; names are kept from frame to frame rather than
        // made per frame, and must never be another component's.
        await using var rig = await FleetFlow.StartAsync("""{"type":"shelly in","targetType":"all","events":"status","component":""}""", profile: "pro3em");
        var id = rig.Ids[0];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 12; i++)
        {
            var msg = await rig.OutAsync();
            var payload = msg.Payload!.AsObject();
            JsonObject stored;
            var d = rig.Host.Devices.Get(id)!;
            lock (d.Gate)
            {
                stored = d.Status;
            }
            foreach (var (name, value) in payload)
            {
                seen.Add(name);
                var component = Assert.IsType<JsonObject>(stored[name]);
                Assert.All(value!.AsObject(), m => Assert.True(component.ContainsKey(m.Key), $"{m.Key} reported under {name}"));
            }
            if (payload.Count == 1)
            {
                Assert.Equal(payload.GetAt(0).Key, msg.Data["component"]!.GetValue<string>());
            }
        }
        Assert.Contains("em:0", seen);
    }

    private static async Task<FlowMessage> NextWithOutputAsync(FleetFlow rig, bool output)
    {
        FlowMessage msg;
        do
        {
            msg = await rig.OutAsync();
        }
        while (msg.Payload!["switch:0"]?["output"]?.GetValue<bool>() != output);
        return msg;
    }

    [Fact]
    public async Task Connect_and_disconnect_events_arrive_in_order_without_status()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"shelly in","targetType":"all","events":"connect, disconnect"}""", connect: false);
        await rig.Fleet.StartAsync();
        var connected = await rig.OutAsync();
        Assert.Equal("connect", connected.Data["kind"]!.GetValue<string>());
        Assert.Equal("connect", connected.Payload!.GetValue<string>());
        var id = connected.Data["topic"]!.GetValue<string>();
        Assert.Equal(rig.Ids[0], id);
        await rig.Fleet.Connections[0].DisposeAsync();
        var gone = await rig.OutAsync();
        Assert.Equal("disconnect", gone.Data["kind"]!.GetValue<string>());
        Assert.Equal(id, gone.Data["topic"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_flow_that_cannot_keep_up_holds_neither_the_device_nor_the_order_of_its_events()
    {
        // shelly in → a gated node with a queue of 2: the node sends on the hub's thread while nothing waits, and must not
        // hold that thread once the queue is full; later events queue behind the one waiting for room.
        var gate = new SemaphoreSlim(0);
        await using var rig = await FleetFlow.StartAsync("""{"type":"shelly in","targetType":"all","events":"status","component":"switch:0"}""",
            extra: """{"id":"g","type":"test-gated","z":"t","x":0,"y":0,"wires":[["out"]]}""", wire: "g",
            services: (sc, _) => sc.AddSingleton(gate), engine: o => o.QueueCapacity = 2);
        var id = rig.Ids[0];
        const int Sets = 12;
        for (var i = 0; i < Sets; i++)
        {
            rig.Fleet[id].Call("Switch.Set", new() { ["id"] = 0, ["on"] = i % 2 == 0 });
            // Each report is read by the hub while the flow is stuck: a call through the hub gets its answer.
            var status = await rig.Host.Hub.CallAsync(id, "Switch.GetStatus", new JsonObject { ["id"] = 0 }, TimeSpan.FromSeconds(10));
            Assert.Equal(i % 2 == 0, status!["output"]!.GetValue<bool>());
        }
        gate.Release(10_000);
        var outputs = new List<bool>();
        while (outputs.Count < Sets)
        {
            var msg = await rig.OutAsync();
            // The simulated device also reports on its own (its first status, its meters' ticks); such a report repeats the
            // state it has, so only changes count, from the first Set's "on". Events out of order lose changes: the list then
            // never fills and the wait for the next message fails.
            if (msg.Payload!["switch:0"]?["output"] is { } output
                && (outputs.Count == 0 ? output.GetValue<bool>() : outputs[^1] != output.GetValue<bool>()))
            {
                outputs.Add(output.GetValue<bool>());
            }
        }
        Assert.Equal(Enumerable.Range(0, Sets).Select(i => i % 2 == 0), outputs);
    }
}
