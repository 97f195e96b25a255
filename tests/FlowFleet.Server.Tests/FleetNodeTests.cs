using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Registry;
using FlowFleet.Runtime.Context;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>Each fleet node type in a deployed flow, against simulated devices.</summary>
public sealed class FleetNodeTests
{
    private const string Collector = """
        const a = global.get('out') || [];
        a.push({ topic: msg.topic, payload: msg.payload, kind: msg.kind, error: msg.error });
        global.set('out', a);
        return null;
        """;

    private static JsonObject Tab() => new() { ["id"] = "t1", ["type"] = "tab", ["label"] = "fleet" };

    private static JsonObject Collect(string id = "collect") => new()
    {
        ["id"] = id, ["type"] = "function", ["z"] = "t1", ["x"] = 500, ["y"] = 100, ["func"] = Collector, ["outputs"] = 1, ["wires"] = new JsonArray(new JsonArray()),
    };

    private static JsonObject Inject(string id, string next, string payload = "", string topic = "", string payloadType = "str") => new()
    {
        ["id"] = id, ["type"] = "inject", ["z"] = "t1", ["x"] = 100, ["y"] = 100, ["props"] = JsonNode.Parse("""[{"p":"payload"},{"p":"topic","vt":"str"}]"""),
        ["payload"] = payload, ["payloadType"] = payloadType, ["topic"] = topic, ["wires"] = new JsonArray(new JsonArray(next)),
    };

    private static JsonObject Node(string id, string type, object props, string? next = "collect")
    {
        var o = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(props))!.AsObject();
        o["id"] = id;
        o["type"] = type;
        o["z"] = "t1";
        if (type != "fleet server")
        {
            // Node-RED tells flow nodes from config nodes by their x/y position.
            o["x"] = 300;
            o["y"] = 100;
        }
        o["wires"] = next is null ? new JsonArray(new JsonArray()) : new JsonArray(new JsonArray(next));
        return o;
    }

    private sealed class Rig : IAsyncDisposable
    {
        public required ServerFixture Server { get; init; }

        public required SimFleet Fleet { get; init; }

        public required HttpClient Admin { get; init; }

        public IDeviceStore Devices => Server.App.Services.GetRequiredService<IDeviceStore>();

        public IGroupStore Groups => Server.App.Services.GetRequiredService<IGroupStore>();

        public FleetRecordWriter Writer => Server.App.Services.GetRequiredService<FleetRecordWriter>();

        public ITelemetryStore Telemetry => Server.App.Services.GetRequiredService<ITelemetryStore>();

        public JsonArray Out => Server.App.Services.GetRequiredService<ContextManager>().Scope("global").Get("out") as JsonArray ?? [];

        public async Task DeployAsync(params JsonObject[] nodes)
        {
            var flow = new JsonArray(Tab());
            if (!nodes.Any(n => n["type"]!.GetValue<string>() == "catch"))
            {
                // Errors land in the collector too, so a failing node shows up in the assertion instead of a timeout.
                flow.Add(Node("catch-all", "catch", new { scope = (string?)null, uncaught = false }));
            }
            foreach (var n in nodes)
            {
                flow.Add(n);
            }
            using var r = await Admin.PostAsync("/red/flows", AuthTests.Json(flow.ToJsonString()));
            Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        }

        public async Task InjectAsync(string id) => Assert.Equal(HttpStatusCode.OK, (await Admin.PostAsync($"/red/inject/{id}", null)).StatusCode);

        public Task WaitOut(int count) => Poll.UntilAsync(() => Task.FromResult(Out.Count >= count), $"{count} collected messages");

        public async ValueTask DisposeAsync()
        {
            Admin.Dispose();
            await Fleet.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    private static async Task<Rig> RigAsync(int count, string profile = "plus1pm")
    {
        var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        var fleet = new SimFleet(s.ShellyUrl, count, profile, FleetApiTests.FastSim);
        await fleet.StartAsync();
        await FleetApiTests.WaitOnline(s, count);
        return new Rig { Server = s, Fleet = fleet, Admin = await s.AdminAsync() };
    }

    [Fact]
    public async Task Shelly_in_sends_status_of_the_chosen_group_only()
    {
        await using var rig = await RigAsync(3);
        var ids = rig.Fleet.Devices.Select(d => d.Id).ToList();
        await rig.Groups.CreateGroupAsync("watched");
        await rig.Groups.SetMembershipAsync("watched", ids[1], true);
        await rig.DeployAsync(Node("in", "shelly in", new { targetType = "group", target = "watched", events = "status", component = "switch" }), Collect());
        await rig.WaitOut(2);
        Assert.All(rig.Out, m =>
        {
            Assert.Equal(ids[1], m!["topic"]!.GetValue<string>());
            Assert.Equal("status", m["kind"]!.GetValue<string>());
            Assert.NotNull(m["payload"]!["switch:0"]);
        });
    }

    [Fact]
    public async Task Shelly_out_switches_and_moves_covers()
    {
        await using var rig = await RigAsync(2, "plus2pm-cover");
        var cover = rig.Fleet.Devices.First();
        await rig.DeployAsync(
            Inject("go", "out", "30", cover.Id), Node("out", "shelly out", new { targetType = "msg", action = "cover-position", channel = 0 }), Collect());
        await rig.InjectAsync("go");
        await rig.WaitOut(1);
        Assert.True(rig.Out[0]!["payload"]![0]!["ok"]!.GetValue<bool>(), rig.Out.ToJsonString());
        await Poll.UntilAsync(() => Task.FromResult(cover.Status("cover:0")!["current_pos"]!.GetValue<int>() == 30), "cover at 30%");
    }

    [Fact]
    public async Task Rpc_call_reaches_each_device_and_reports_errors_to_catch()
    {
        await using var rig = await RigAsync(4);
        await rig.DeployAsync(
            Node("srv", "fleet server", new { name = "local", timeout = 5 }, next: null),
            Inject("all", "rpc", "", ""), Node("rpc", "rpc call", new { server = "srv", targetType = "all", method = "Switch.Toggle", @params = """{"id":0}""", output = "each" }),
            Inject("bad", "rpcbad", "", rig.Fleet.Devices.First().Id), Node("rpcbad", "rpc call", new { targetType = "msg", method = "Switch.Set", @params = """{"id":9,"on":true}""" }, next: null),
            Node("catch", "catch", new { scope = (string?)null, uncaught = false }), Collect());
        await rig.InjectAsync("all");
        await rig.WaitOut(4);
        Assert.Equal(rig.Fleet.Devices.Select(d => d.Id).Order(), rig.Out.Select(m => m!["topic"]!.GetValue<string>()).Order());
        Assert.All(rig.Fleet.Devices, d => Assert.True(d.Status("switch:0")!["output"]!.GetValue<bool>()));
        await rig.InjectAsync("bad");
        await rig.WaitOut(5);
        Assert.Contains("Bad id=9", rig.Out[4]!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_config_dry_run_lists_calls_then_applies_them()
    {
        await using var rig = await RigAsync(3);
        var template = """{"switch:0":{"auto_off":true,"auto_off_delay":90}}""";
        await rig.DeployAsync(
            Inject("dry", "apply-dry"), Node("apply-dry", "apply config", new { targetType = "all", source = "template", template, dryRun = true }),
            Inject("real", "apply"), Node("apply", "apply config", new { targetType = "all", source = "template", template, dryRun = false }), Collect());
        await rig.InjectAsync("dry");
        await rig.WaitOut(1);
        var planned = rig.Out[0]!["payload"]!.AsArray();
        Assert.Equal(3, planned.Count);
        Assert.Equal("Switch.SetConfig", planned[0]!["method"]!.GetValue<string>());
        Assert.Equal("0", planned[0]!["params"]!["id"]!.ToJsonString());
        Assert.All(rig.Fleet.Devices, d => Assert.False(d.Config("switch:0")!["auto_off"]!.GetValue<bool>()));
        await rig.InjectAsync("real");
        await rig.WaitOut(2);
        Assert.All(rig.Out[1]!["payload"]!.AsArray(), r => Assert.True(r!["ok"]!.GetValue<bool>()));
        Assert.All(rig.Fleet.Devices, d => Assert.Equal(90, d.Config("switch:0")!["auto_off_delay"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Apply_config_copies_components_from_a_source_device()
    {
        await using var rig = await RigAsync(3);
        var source = rig.Fleet.Devices.First();
        await rig.Server.App.Services.GetRequiredService<FlowFleet.Fleet.Hub.DeviceHub>().CallAsync(source.Id, "Switch.SetConfig",
            new JsonObject { ["id"] = 0, ["config"] = new JsonObject { ["in_mode"] = "detached", ["name"] = "Pump" } });
        await Poll.UntilAsync(() => Task.FromResult(rig.Devices.Get(source.Id)!.Config!["switch:0"]!["in_mode"]!.GetValue<string>() == "detached"), "source config re-read");
        await rig.DeployAsync(Inject("copy", "apply"), Node("apply", "apply config", new { targetType = "all", source = "device", sourceDevice = source.Id, components = "switch:0" }), Collect());
        await rig.InjectAsync("copy");
        await rig.WaitOut(1);
        Assert.Equal(2, rig.Out[0]!["payload"]!.AsArray().Count);
        // The collector copies msg.error; with no error it is undefined, which the context keeps as Node-RED does.
        Assert.True(rig.Out[0]!["error"] is null || FlowFleet.Runtime.Messages.JsSpecial.IsUndefined(rig.Out[0]!["error"]), rig.Out[0]!.ToJsonString());
        Assert.All(rig.Fleet.Devices, d => Assert.Equal("detached", d.Config("switch:0")!["in_mode"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Device_registry_node_tags_groups_and_lists()
    {
        await using var rig = await RigAsync(2);
        var id = rig.Fleet.Devices.First().Id;
        await rig.DeployAsync(
            Inject("tag", "reg-tag", "roof", id), Node("reg-tag", "device registry", new { action = "tag" }),
            Inject("grp", "reg-grp", "solar", id), Node("reg-grp", "device registry", new { action = "group-add" }),
            Inject("list", "reg-list"), Node("reg-list", "device registry", new { action = "list" }), Collect());
        await rig.InjectAsync("tag");
        await rig.WaitOut(1);
        await rig.InjectAsync("grp");
        await rig.WaitOut(2);
        await rig.InjectAsync("list");
        await rig.WaitOut(3);
        Assert.Equal(["roof"], rig.Devices.Get(id)!.Tags);
        Assert.Equal(["solar"], rig.Groups.GroupsOf(id));
        Assert.Equal(2, rig.Out[2]!["payload"]!.AsArray().Count);
    }

    [Fact]
    public async Task Db_write_stores_rows_and_telemetry()
    {
        await using var rig = await RigAsync(1);
        await rig.DeployAsync(
            Inject("row", "db-row", """{"kwh":1.5,"site":"A"}""", "", "json"), Node("db-row", "db write", new { mode = "row", table = "readings" }),
            Inject("tel", "db-tel", """{"meter":{"kwh":42.5}}""", "meter-1", "json"), Node("db-tel", "db write", new { mode = "telemetry" }), Collect());
        await rig.InjectAsync("row");
        await rig.InjectAsync("tel");
        await rig.WaitOut(2);
        var rows = await rig.Admin.GetFromJsonAsync<JsonArray>("/api/tables/readings");
        Assert.Equal("A", rows![0]!["row"]!["site"]!.GetValue<string>());
        await rig.Writer.WriteQueuedAsync();
        var points = await rig.Telemetry.TelemetryAsync("meter-1", "meter.kwh", 0, long.MaxValue, 1000);
        Assert.Equal(42.5, Assert.Single(points).Last);
    }

    [Fact]
    public async Task Fleet_demo_flow_guards_plugs_logs_energy_and_toggles_the_light()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        using var admin = await s.AdminAsync();
        var json = await File.ReadAllTextAsync(Path.Combine(CommsAndHttpTests.RepoRoot(), "flows", "fleet-demo.json"));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(json))).StatusCode);
        await using var fleet = new SimFleet(s.ShellyUrl, 12, "mix", FleetApiTests.FastSim);
        var heavy = fleet["shellyplus1pm-c0ffee000000"];
        heavy.Call("Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true });
        fleet["shellyplus1pm-c0ffee000001"].Call("Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true });
        await fleet.StartAsync();
        await FleetApiTests.WaitOnline(s, 11);
        await Poll.UntilAsync(() => Task.FromResult(!heavy.Status("switch:0")!["output"]!.GetValue<bool>()), "plug above 2 kW switched off");
        Assert.True(fleet["shellyplus1pm-c0ffee000001"].Status("switch:0")!["output"]!.GetValue<bool>());

        var light = fleet["shellypluswdus-c0ffee000007"];
        Assert.False(light.Status("light:0")!["output"]!.GetValue<bool>());
        fleet["shellyplusi4-c0ffee00000a"].Press(2);
        await Poll.UntilAsync(() => Task.FromResult(light.Status("light:0")!["output"]!.GetValue<bool>()), "button toggled the light");

        await Poll.UntilAsync(async () => (await admin.GetFromJsonAsync<JsonArray>("/api/tables/energy"))!.Count >= 2, "energy rows");
    }
}
