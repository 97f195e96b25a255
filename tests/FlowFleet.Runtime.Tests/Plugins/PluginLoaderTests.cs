using System.Text.Json.Nodes;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Plugins;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Runtime.Tests.Plugins;

public sealed class PluginLoaderTests
{
    private static string RepoPlugins()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FlowFleet.sln")))
            {
                return Path.Combine(dir.FullName, "plugins");
            }
        }
        throw new DirectoryNotFoundException("repository root not found");
    }

    private static async Task<FlowHarness> LoadWithPlugins(string flows, string pluginsDir, List<PluginInfo> infos) =>
        await FlowHarness.LoadAsync(flows, services: sc => sc.AddSingleton(sp =>
        {
            var registry = new NodeRegistry();
            registry.RegisterAssembly(typeof(CaptureNode).Assembly).RegisterAssembly(FlowHarness.CoreNodesAssembly);
            infos.AddRange(PluginLoader.LoadAll(pluginsDir, registry, new FlowEngineOptions()));
            return registry;
        }));

    [Fact]
    public async Task The_sample_plugins_add_node_types_that_run_in_flows()
    {
        var infos = new List<PluginInfo>();
        await using var h = await LoadWithPlugins("""
            [{"id":"t","type":"tab"},
             {"id":"c2f","type":"celsius to fahrenheit","z":"t","decimals":0,"x":0,"y":0,"wires":[["o1"]]},
             {"id":"avg","type":"rolling average","z":"t","size":2,"x":0,"y":0,"wires":[["o2"]]},
             {"id":"o1","type":"helper","z":"t","x":0,"y":0,"wires":[]},
             {"id":"o2","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """, RepoPlugins(), infos);
        Assert.Contains(infos, i => i.Kind == "javascript" && i.NodeTypes.Contains("celsius to fahrenheit") && i.Error is null);
        Assert.Contains(infos, i => i.Kind == "dotnet" && i.NodeTypes.Contains("rolling average") && i.Error is null);

        h.Send("c2f", new JsonObject { ["tC"] = 21.5 });
        Assert.Equal(71, FlowFleet.Runtime.Messages.JsonTools.ToNumber((await h.NextAsync("o1")).Payload));
        foreach (var v in new[] { 10, 20, 40 })
        {
            h.Send("avg", JsonValue.Create(v));
        }
        var avgs = await h.TakeAsync("o2", 3);
        Assert.Equal([10, 15, 30], avgs.Select(m => FlowFleet.Runtime.Messages.JsonTools.ToNumber(m.Payload)));
        Assert.Contains(h.Engine.Registry.All, d => d.Type == "celsius to fahrenheit" && d.Properties.Any(p => p.Name == "decimals"));
    }

    [Fact]
    public void A_broken_plugin_is_reported_and_the_others_still_load()
    {
        var dir = Directory.CreateTempSubdirectory("plugins-").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "broken"));
        File.WriteAllText(Path.Combine(dir, "broken", "plugin.json"), "{ not json");
        Directory.CreateDirectory(Path.Combine(dir, "empty"));
        Directory.CreateDirectory(Path.Combine(dir, "ok"));
        File.WriteAllText(Path.Combine(dir, "ok", "plugin.json"), """{"type":"double it","script":"node.js"}""");
        File.WriteAllText(Path.Combine(dir, "ok", "node.js"), "msg.payload *= 2; return msg;");
        var registry = new NodeRegistry();
        var infos = PluginLoader.LoadAll(dir, registry, new FlowEngineOptions());
        Assert.Contains(infos, i => i.Name == "broken" && i.Error!.Contains("not valid JSON", StringComparison.Ordinal));
        Assert.Contains(infos, i => i.Name == "empty" && i.Error is not null);
        Assert.True(registry.TryGet("double it", out _));
    }

    [Fact]
    public void A_plugin_cannot_replace_a_built_in_type_and_adds_none_of_its_types_then()
    {
        var dir = Directory.CreateTempSubdirectory("plugins-").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "sneaky"));
        File.WriteAllText(Path.Combine(dir, "sneaky", "plugin.json"), """{"type":"function","script":"node.js"}""");
        File.WriteAllText(Path.Combine(dir, "sneaky", "node.js"), "return null;");
        var registry = new NodeRegistry().RegisterAssembly(FlowHarness.CoreNodesAssembly);
        var builtIn = registry.Find("function");
        var infos = PluginLoader.LoadAll(dir, registry, new FlowEngineOptions());
        var info = Assert.Single(infos);
        Assert.Contains("'function' of module 'sneaky' is already registered by module 'core'", info.Error, StringComparison.Ordinal);
        Assert.Same(builtIn, registry.Find("function"));
    }

    [Fact]
    public void An_assembly_whose_type_is_taken_registers_nothing_and_modules_come_from_the_assembly()
    {
        var registry = new NodeRegistry().RegisterAssembly(FlowHarness.CoreNodesAssembly);
        Assert.Equal("core", registry.Find("inject")!.Module);
        var before = registry.All.Count();
        var ex = Assert.Throws<InvalidOperationException>(() => registry.RegisterAssembly(FlowHarness.CoreNodesAssembly, "again"));
        Assert.Contains("already registered by module 'core'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, registry.All.Count());
        Assert.Equal("core", registry.Find("inject")!.Module);
    }
}
