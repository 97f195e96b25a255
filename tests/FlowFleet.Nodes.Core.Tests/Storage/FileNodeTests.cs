using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Storage;

/// <summary>Behaviour from Node-RED's <c>test/nodes/core/storage/10-file_spec.js</c> (write file), in a temp directory.</summary>
public sealed class FileNodeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ff-file-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private static string Node(object config) => System.Text.Json.JsonSerializer.Serialize(config);

    private const string Catch = """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""";

    [Fact]
    public async Task Appends_payloads_with_newlines_and_sends_the_message_on()
    {
        await using var h = await Flows.One(Node(new { type = "file", filename = P("a.txt"), filenameType = "str", appendNewline = true, overwriteFile = "false" }));
        h.Send("n", JsonValue.Create("one"));
        var sent = await h.NextAsync("o0");
        Assert.Equal(P("a.txt"), sent.Data["filename"]!.GetValue<string>());
        h.Send("n", JsonValue.Create(2));
        h.Send("n", new JsonObject { ["x"] = true });
        await h.TakeAsync("o0", 2);
        Assert.Equal("one\n2\n{\"x\":true}\n", File.ReadAllText(P("a.txt")));
    }

    [Fact]
    public async Task Overwrites_writes_buffers_as_bytes_and_skips_the_newline_after_the_last_string_part()
    {
        await using var h = await Flows.One(Node(new { type = "file", filename = P("b.bin"), appendNewline = true, overwriteFile = "true" }));
        h.Send("n", JsonValue.Create("first"));
        await h.NextAsync("o0");
        h.Send("n", FlowFleet.Runtime.Messages.JsonTools.Buffer([1, 2, 255]));
        await h.NextAsync("o0");
        Assert.Equal(new byte[] { 1, 2, 255 }, File.ReadAllBytes(P("b.bin")));
        h.SendJson("n", """{"payload":"last","parts":{"type":"string","index":1,"count":2}}""");
        await h.NextAsync("o0");
        Assert.Equal("last", File.ReadAllText(P("b.bin")));
    }

    [Fact]
    public async Task Filename_from_the_message_creates_directories_and_encodes()
    {
        await using var h = await Flows.One(Node(new { type = "file", filename = "", appendNewline = false, createDir = true, encoding = "utf16le" }));
        var target = Path.Combine(_dir, "sub", "dir", "c.txt");
        h.SendJson("n", new JsonObject { ["payload"] = "hé", ["filename"] = target }.ToJsonString());
        await h.NextAsync("o0");
        Assert.Equal(Encoding.Unicode.GetBytes("hé"), File.ReadAllBytes(target));
    }

    [Fact]
    public async Task Deletes_a_file_and_reports_a_missing_one()
    {
        File.WriteAllText(P("d.txt"), "x");
        await using var h = await Flows.One(Node(new { type = "file", filename = P("d.txt"), overwriteFile = "delete" }), extra: Catch);
        h.Send("n", JsonValue.Create("ignored"));
        await h.NextAsync("o0");
        Assert.False(File.Exists(P("d.txt")));
        h.Send("n", JsonValue.Create("again"));
        var err = await h.NextAsync("err");
        Assert.Contains("failed to delete file", err.Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_filename_warns_and_a_write_error_reaches_catch()
    {
        await using var h = await Flows.One(Node(new { type = "file", filename = "", filenameType = "" }), extra: Catch + Flows.Handled);
        h.Send("n", JsonValue.Create("x"));
        await h.WaitForLogAsync(l => l.NodeId == "n" && l.Message.Contains("No filename", StringComparison.Ordinal));
        await h.NextAsync("handled");
        await h.AssertNothingYetAsync("o0");
        h.SendJson("n", new JsonObject { ["payload"] = "x", ["filename"] = Path.Combine(_dir, "missing", "f.txt") }.ToJsonString());
        var err = await h.NextAsync("err");
        Assert.Contains("failed to append to file", err.Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
