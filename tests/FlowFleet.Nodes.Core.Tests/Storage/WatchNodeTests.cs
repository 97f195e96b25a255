using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Storage;

/// <summary>Behaviour from Node-RED's <c>23-watch_spec.js</c>: real file changes in a temp directory.</summary>
public sealed class WatchNodeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ff-watch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Reports_a_change_to_a_watched_file()
    {
        var file = Path.Combine(_dir, "w.txt");
        File.WriteAllText(file, "a");
        await using var h = await Flows.One(System.Text.Json.JsonSerializer.Serialize(new { type = "watch", files = file }));
        File.AppendAllText(file, "bc");
        var msg = await h.NextAsync("o0", TimeSpan.FromSeconds(10));
        Assert.Equal(file, msg.Payload!.GetValue<string>());
        Assert.Equal("w.txt", msg.Data["file"]!.GetValue<string>());
        Assert.Equal(file, msg.Data["topic"]!.GetValue<string>());
        Assert.Equal("update", msg.Data["event"]!.GetValue<string>());
        Assert.Equal("file", msg.Data["type"]!.GetValue<string>());
        Assert.Equal(3, Flows.Num(msg.Data["size"]));
    }

    [Fact]
    public async Task Reports_new_and_removed_files_in_a_watched_directory_with_several_paths_as_topic()
    {
        var other = Directory.CreateDirectory(Path.Combine(_dir, "other")).FullName;
        await using var h = await Flows.One(System.Text.Json.JsonSerializer.Serialize(new { type = "watch", files = _dir + ", " + other }));
        var created = Path.Combine(other, "new.txt");
        File.WriteAllText(created, "x");
        var msg = await h.NextAsync("o0", TimeSpan.FromSeconds(10));
        Assert.Equal(created, msg.Data["filename"]!.GetValue<string>());
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(new[] { _dir, other }), msg.Topic);
        File.Delete(created);
        var removed = await h.NextAsync("o0", TimeSpan.FromSeconds(10));
        while (removed.Data["event"]!.GetValue<string>() != "remove")
        {
            removed = await h.NextAsync("o0", TimeSpan.FromSeconds(10));
        }
        Assert.Equal("none", removed.Data["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_missing_path_is_reported_as_an_error_as_node_watch_does()
    {
        await using var h = await FlowHarness.LoadAsync($$"""[{"id":"t","type":"tab"},{"id":"n","type":"watch","z":"t","x":0,"y":0,"files":{{System.Text.Json.JsonSerializer.Serialize(Path.Combine(_dir, "none"))}},"wires":[]}]""");
        Assert.Contains(h.Logs, l => l.Message.Contains("does not exist.", StringComparison.Ordinal));
    }
}
