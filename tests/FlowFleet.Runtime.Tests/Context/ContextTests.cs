using System.Text.Json.Nodes;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Runtime.Tests.Context;

public sealed class ContextTests
{
    [Fact]
    public async Task Sqlite_store_keeps_values_across_restarts()
    {
        var path = Path.Combine(Path.GetTempPath(), "ctx-" + Guid.NewGuid().ToString("N") + ".db");
        await using (var store = new SqliteContextStore(path, TimeSpan.FromMinutes(5)))
        {
            store.Set("global", "count", JsonValue.Create(41));
            store.Set("flow1", "obj", new JsonObject { ["a"] = new JsonArray(1, 2) });
            store.Set("flow1", "gone", JsonValue.Create(true));
            store.Set("flow1", "gone", null);
        }
        await using (var store = new SqliteContextStore(path, TimeSpan.FromMinutes(5)))
        {
            Assert.Equal(41, FlowFleet.Runtime.Messages.JsonTools.ToNumber(store.Get("global", "count")));
            Assert.Equal("""{"a":[1,2]}""", store.Get("flow1", "obj")!.ToJsonString());
            Assert.Equal(["obj"], store.Keys("flow1"));
        }
    }

    [Fact]
    public void Keys_are_property_paths_and_stores_are_chosen_by_name()
    {
        var memory = new MemoryContextStore();
        var other = new MemoryContextStore();
        var contexts = new ContextManager(new Dictionary<string, IContextStore> { ["default"] = memory, ["file"] = other });
        var flow = contexts.Scope("f1");
        flow.Set("a.b[1]", JsonValue.Create("x"));
        Assert.Equal("""{"b":[null,"x"]}""", memory.Get("f1", "a")!.ToJsonString());
        Assert.Equal("x", flow.Get("a.b[1]")!.GetValue<string>());
        flow.Set("k", JsonValue.Create(1), "file");
        Assert.Null(flow.Get("k"));
        Assert.Equal(1, FlowFleet.Runtime.Messages.JsonTools.ToNumber(flow.Get("k", "file")));
        Assert.Throws<InvalidOperationException>(() => flow.Get("k", "nope"));
    }

    [Fact]
    public async Task Function_nodes_use_named_stores_and_a_persistent_store_survives_an_engine_restart()
    {
        const string flows = """
        [{"id":"t","type":"tab"},
         {"id":"fn","type":"function","z":"t","func":"const n = (flow.get('n', 'disk') || 0) + 1; flow.set('n', n, 'disk'); global.set('g', n); context.set('c', n); msg.payload = [n, global.get('g'), context.get('c'), flow.get('n')]; return msg;","x":0,"y":0,"wires":[["o"]]},
         {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """;
        var dir = Path.Combine(Path.GetTempPath(), "ctx-" + Guid.NewGuid().ToString("N"));
        void Configure(FlowEngineOptions o)
        {
            o.ContextStorage["default"] = new ContextStoreOptions { Module = "memory" };
            o.ContextStorage["disk"] = new ContextStoreOptions { Module = "sqlite", Path = Path.Combine(dir, "context.db") };
        }
        await using (var h = await FlowHarness.LoadAsync(flows, Configure))
        {
            h.Send("fn", JsonValue.Create(0));
            Assert.Equal("[1,1,1,null]", (await h.NextAsync("o")).Payload!.ToJsonString());
        }
        await using (var h = await FlowHarness.LoadAsync(flows, Configure))
        {
            h.Send("fn", JsonValue.Create(0));
            Assert.Equal("[2,2,2,null]", (await h.NextAsync("o")).Payload!.ToJsonString());
        }
    }

    [Fact]
    public void Setting_a_nested_key_to_nothing_removes_only_that_property()
    {
        var memory = new MemoryContextStore();
        var flow = new ContextManager(new Dictionary<string, IContextStore> { ["default"] = memory }).Scope("f1");
        flow.Set("a.b", JsonValue.Create(1));
        flow.Set("a.c", JsonValue.Create(2));
        flow.Set("a.b", null);
        Assert.Equal("""{"c":2}""", memory.Get("f1", "a")!.ToJsonString());
        Assert.Null(flow.Get("a.b"));
    }

    [Fact]
    public async Task A_node_removed_by_a_deploy_loses_its_persistent_context_but_its_flow_keeps_theirs()
    {
        const string withNode = """
        [{"id":"t","type":"tab"},
         {"id":"fn","type":"function","z":"t","func":"msg.payload = [context.get('c', 'disk') || 'none', flow.get('f', 'disk') || 'none']; context.set('c', 'node value', 'disk'); flow.set('f', 'flow value', 'disk'); return msg;","x":0,"y":0,"wires":[["o"]]},
         {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """;
        const string without = """[{"id":"t","type":"tab"},{"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]""";
        var dir = Path.Combine(Path.GetTempPath(), "ctx-" + Guid.NewGuid().ToString("N"));
        void Configure(FlowEngineOptions o) =>
            o.ContextStorage["disk"] = new ContextStoreOptions { Module = "sqlite", Path = Path.Combine(dir, "context.db") };
        await using (var h = await FlowHarness.LoadAsync(withNode, Configure))
        {
            h.Send("fn", JsonValue.Create(0));
            Assert.Equal("""["none","none"]""", (await h.NextAsync("o")).Payload!.ToJsonString());
            h.Send("fn", JsonValue.Create(0));
            Assert.Equal("""["node value","flow value"]""", (await h.NextAsync("o")).Payload!.ToJsonString());
            // The function node goes away: its own context is deleted, from the database too (flushed when the engine stops).
            await h.Engine.DeployAsync(System.Text.Json.Nodes.JsonNode.Parse(without)!);
        }
        await using (var h = await FlowHarness.LoadAsync(withNode, Configure))
        {
            h.Send("fn", JsonValue.Create(0));
            Assert.Equal("""["none","flow value"]""", (await h.NextAsync("o")).Payload!.ToJsonString());
        }
    }
}
