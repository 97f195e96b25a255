using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Storage;

namespace FlowFleet.Runtime.Tests.Engine;

public sealed class FlowHistoryStoreTests
{
    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static JsonArray Flows(int n) => [new JsonObject { ["id"] = "t", ["type"] = "tab" }, new JsonObject { ["id"] = "n", ["type"] = "debug", ["z"] = "t", ["x"] = n, ["y"] = 1 }];

    [Fact]
    public async Task Retention_keeps_the_newest_count_and_drops_old_versions_but_never_the_newest()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("ff-history-").FullName, "history.db");
        var time = new ManualTime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new SqliteFlowHistory(path, new FlowHistoryOptions { MaxCount = 3, MaxAge = TimeSpan.FromDays(10) }, time);
        for (var i = 1; i <= 5; i++)
        {
            await store.RecordAsync(Flows(i), "rev" + i, "full", new DeployInfo("ann", "v" + i));
            time.Now += TimeSpan.FromDays(1);
        }
        Assert.Equal([5L, 4L, 3L], (await store.ListAsync()).Select(v => v.Version));
        var v4 = await store.GetAsync(4);
        Assert.Equal(4, v4!.Flows[1]!["x"]!.GetValue<int>());
        Assert.Equal(("ann", "v4", 1, 1), (v4.Info.User, v4.Info.Message, v4.Info.Nodes, v4.Info.Tabs));
        Assert.Null(await store.GetAsync(1));

        time.Now += TimeSpan.FromDays(30);
        await store.RecordAsync(Flows(6), "rev6", "nodes", null);
        Assert.Equal([6L], (await new SqliteFlowHistory(path).ListAsync()).Select(v => v.Version));
        Assert.Equal(6L, (await store.FindByRevAsync("rev6"))!.Info.Version);
    }

    [Fact]
    public void Diff_sorts_objects_into_added_removed_changed_moved_and_diffs_code_by_line()
    {
        var a = JsonNode.Parse("""[{"id":"f","type":"function","func":"a\nb\nc","x":1,"y":1,"wires":[["d"]]},{"id":"d","type":"debug","x":5,"y":5},{"id":"gone","type":"comment"}]""")!.AsArray();
        var b = JsonNode.Parse("""[{"id":"f","type":"function","func":"a\nB\nc\nd","x":1,"y":1,"wires":[["new"]]},{"id":"d","type":"debug","x":9,"y":5},{"id":"new","type":"debug"}]""")!.AsArray();
        var diff = FlowDiff.Compute(a, b);
        Assert.Equal(ChangeKind.Changed, diff["f"]!.Kind);
        Assert.Equal(ChangeKind.Moved, diff["d"]!.Kind);
        Assert.Equal(ChangeKind.Added, diff["new"]!.Kind);
        Assert.Equal(ChangeKind.Removed, diff["gone"]!.Kind);
        Assert.Equal(["  a", "- b", "+ B", "  c", "+ d"], diff["f"]!.Properties.Single(p => p.Name == "func").Lines!.Select(l => l.Op + " " + l.Text));
        Assert.Equal(new WireRef("f", 0, "new"), Assert.Single(diff.AddedWires));
        Assert.Equal(new WireRef("f", 0, "d"), Assert.Single(diff.RemovedWires));
        Assert.True(FlowDiff.Compute(a, a).IsEmpty);
    }

    [Fact]
    public void A_version_counts_the_same_tabs_and_nodes_from_its_bytes_as_from_its_objects()
    {
        var flows = JsonNode.Parse("""
            [{"id":"t","type":"tab"},{"id":"u","type":"tab","x":1},
             {"id":"a","type":"inject","z":"t","x":1,"y":2,"wires":[]},
             {"id":"b","type":"debug","z":"t","x":null,"y":2},
             {"id":"c","type":"mqtt-broker","broker":"x"},
             {"id":"d","type":"tab ","z":"t","x":{"nested":"tab"},"y":[1],"wires":[[]]}]
            """)!.AsArray();
        var bytes = System.Text.Encoding.UTF8.GetBytes(flows.ToJsonString());
        Assert.Equal((2, 2), FlowHistoryBlob.Count(flows, default));
        Assert.Equal((2, 2), FlowHistoryBlob.Count(flows, bytes));
    }
}
