using FlowFleet.Fleet.Rpc;

namespace FlowFleet.Fleet.Tests;

public sealed class RpcTemplateStoreTests
{
    [Fact]
    public void Saved_templates_survive_a_restart_and_a_damaged_file_keeps_the_built_ins()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("flowfleet-tpl-").FullName, "rpc-templates.json");
        new RpcTemplateStore(path).Save(new RpcTemplate("night mode", "Light.Set", """{"id":0,"brightness":10}"""));
        new RpcTemplateStore(path).Save(new RpcTemplate("night mode", "Light.Set", """{"id":0,"brightness":5}"""));
        var again = new RpcTemplateStore(path).All();
        var saved = Assert.Single(again, t => t.Name == "night mode");
        Assert.Equal("""{"id":0,"brightness":5}""", saved.Params);
        Assert.Equal(RpcTemplateStore.BuiltIn.Count + 1, again.Count);

        File.WriteAllText(path, "{ not json");
        Assert.Equal(RpcTemplateStore.BuiltIn.Count, new RpcTemplateStore(path).All().Count);
        Assert.Equal("{ not json", File.ReadAllText(path));
    }
}
