using System.Text.Json.Nodes;
using FlowFleet.Server.Cli;

namespace FlowFleet.Server.Tests;

public sealed class CliTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliCommands.Build(args, output, error).Parse(args).InvokeAsync();
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Importing_a_broken_file_changes_nothing_and_says_why()
    {
        var data = Directory.CreateTempSubdirectory("ff-cli-").FullName;
        var good = Path.Combine(data, "good.json");
        await File.WriteAllTextAsync(good, """[{"id":"t","type":"tab","label":"kept"},{"id":"c","type":"comment","z":"t","x":1,"y":1,"wires":[]}]""");
        Assert.Equal(0, (await Run("flows", "import", good, "--data", data)).Code);
        var before = await File.ReadAllTextAsync(Path.Combine(data, "flows.json"));

        var broken = Path.Combine(data, "broken.json");
        await File.WriteAllTextAsync(broken, """[{"id":"a","type":"inject","z":"nowhere","x":1,"y":1,"wires":[["ghost"]]}""");
        var (code, _, err) = await Run("flows", "import", broken, "--data", data);
        Assert.Equal(1, code);
        Assert.Contains("not valid JSON", err, StringComparison.Ordinal);
        await File.WriteAllTextAsync(broken, """[{"id":"a","type":"inject","z":"nowhere","x":1,"y":1,"wires":[["ghost"]]}]""");
        (code, _, err) = await Run("flows", "import", broken, "--data", data);
        Assert.Equal(1, code);
        Assert.Contains("missing node ghost", err, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(Path.Combine(data, "flows.json")));

        var exported = Path.Combine(data, "out.json");
        Assert.Equal(0, (await Run("flows", "export", exported, "--data", data)).Code);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(await File.ReadAllTextAsync(good)), JsonNode.Parse(await File.ReadAllTextAsync(exported))));
    }

    [Fact]
    public async Task Importing_a_subflow_that_contains_itself_is_refused_naming_the_cycle()
    {
        var data = Directory.CreateTempSubdirectory("ff-cli-").FullName;
        var looped = Path.Combine(data, "looped.json");
        await File.WriteAllTextAsync(looped, """
        [{"id":"t","type":"tab"},{"id":"S","type":"subflow","name":"Self","in":[],"out":[]},
         {"id":"s1","type":"subflow:S","z":"S","x":1,"y":1,"wires":[]},{"id":"i","type":"subflow:S","z":"t","x":1,"y":1,"wires":[]}]
        """);
        var (code, _, err) = await Run("flows", "import", looped, "--data", data);
        Assert.Equal(1, code);
        Assert.Contains("Subflow cycle: S (Self) → S (Self)", err, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(data, "flows.json")));
    }

    [Fact]
    public async Task Users_are_added_listed_and_given_new_passwords()
    {
        var data = Directory.CreateTempSubdirectory("ff-cli-").FullName;
        Assert.Equal(0, (await Run("user", "add", "olga", "--role", "operator", "--password", "operator-pw-1", "--data", data)).Code);
        var (code, _, err) = await Run("user", "add", "olga", "--role", "operator", "--password", "operator-pw-1", "--data", data);
        Assert.Equal(1, code);
        Assert.Contains("exists", err, StringComparison.Ordinal);
        Assert.Equal(1, (await Run("user", "add", "x", "--role", "king", "--data", data)).Code);
        var (c2, output, _) = await Run("user", "passwd", "olga", "--data", data);
        Assert.Equal(0, c2);
        Assert.Contains("Password of olga changed:", output, StringComparison.Ordinal);
        Assert.Contains("olga", (await Run("user", "list", "--data", data)).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Users_get_roles_and_device_groups_and_are_deleted()
    {
        var data = Directory.CreateTempSubdirectory("ff-cli-").FullName;
        Assert.Equal(0, (await Run("user", "add", "root", "--role", "admin", "--password", "admin-pw-12", "--data", data)).Code);
        Assert.Equal(0, (await Run("user", "add", "olga", "--role", "operator", "--groups", "kitchen", "--password", "operator-pw-1", "--data", data)).Code);
        Assert.Contains("groups kitchen", (await Run("user", "list", "--data", data)).Out, StringComparison.Ordinal);
        var (code, output, _) = await Run("user", "set", "olga", "--role", "viewer", "--groups", "kitchen, hall", "--data", data);
        Assert.Equal(0, code);
        Assert.Contains("olga: viewer, devices: groups kitchen,hall", output, StringComparison.Ordinal);
        Assert.Contains("all devices", (await Run("user", "set", "olga", "--groups", "*", "--data", data)).Out, StringComparison.Ordinal);
        var (refused, _, err) = await Run("user", "delete", "root", "--data", data);
        Assert.Equal(1, refused);
        Assert.Contains("last admin", err, StringComparison.Ordinal);
        Assert.Equal(0, (await Run("user", "delete", "olga", "--data", data)).Code);
        Assert.DoesNotContain("olga", (await Run("user", "list", "--data", data)).Out, StringComparison.Ordinal);
        Assert.Equal(1, (await Run("user", "set", "olga", "--role", "viewer", "--data", data)).Code);
    }
}
