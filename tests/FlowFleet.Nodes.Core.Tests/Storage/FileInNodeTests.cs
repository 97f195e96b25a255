using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Tests.Storage;

/// <summary>Behaviour from Node-RED's <c>10-file_spec.js</c> (read file), in a temp directory.</summary>
public sealed class FileInNodeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ff-filein-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private static string Node(object config) => System.Text.Json.JsonSerializer.Serialize(config);

    [Fact]
    public async Task Reads_a_file_as_utf8_or_as_a_buffer()
    {
        File.WriteAllText(P("a.txt"), "Hello\nWorld");
        await using var h = await Flows.One(Node(new { type = "file in", filename = P("a.txt"), format = "utf8" }));
        h.SendJson("n", """{"payload":"","topic":"t"}""");
        var got = await h.NextAsync("o0");
        Assert.Equal("Hello\nWorld", got.Payload!.GetValue<string>());
        Assert.Equal(P("a.txt"), got.Data["filename"]!.GetValue<string>());
        await using var b = await Flows.One(Node(new { type = "file in", filename = P("a.txt"), format = "" }));
        b.Send("n", JsonValue.Create(""));
        Assert.Equal("Hello\nWorld"u8.ToArray(), JsonTools.BufferBytes((await b.NextAsync("o0")).Payload!));
    }

    [Fact]
    public async Task Lines_are_a_sequence_with_only_topic_and_filename_unless_all_props()
    {
        File.WriteAllText(P("l.txt"), "a\nb\nc");
        await using var h = await Flows.One(Node(new { type = "file in", filename = P("l.txt"), format = "lines" }));
        h.SendJson("n", """{"_msgid":"m1","payload":"","topic":"t","extra":1}""");
        var lines = await h.TakeAsync("o0", 3);
        Assert.Equal(["a", "b", "c"], lines.Select(m => m.Payload!.GetValue<string>()));
        Assert.Equal("""{"index":2,"count":3,"ch":"\n","type":"string","id":"m1"}""", lines[2].Data["parts"]!.ToJsonString());
        Assert.False(lines[0].Data.ContainsKey("extra"));
        Assert.Equal("t", lines[0].Topic);
        await using var all = await Flows.One(Node(new { type = "file in", filename = P("l.txt"), format = "lines", allProps = true }));
        all.SendJson("n", """{"payload":"","extra":1}""");
        Assert.Equal(1, Flows.Num((await all.NextAsync("o0")).Data["extra"]));
    }

    [Fact]
    public async Task Stream_sends_64KiB_buffers_and_marks_the_last()
    {
        var bytes = new byte[(64 * 1024) + 10];
        Random.Shared.NextBytes(bytes);
        File.WriteAllBytes(P("s.bin"), bytes);
        await using var h = await Flows.One(Node(new { type = "file in", filename = P("s.bin"), format = "stream" }));
        h.Send("n", JsonValue.Create(""));
        var chunks = await h.TakeAsync("o0", 2);
        Assert.Equal(bytes, chunks.SelectMany(c => JsonTools.BufferBytes(c.Payload!)).ToArray());
        Assert.False(chunks[0].Data["parts"]!.AsObject().ContainsKey("count"));
        Assert.Equal(2, Flows.Num(chunks[1].Data["parts"]!["count"]));
    }

    [Fact]
    public async Task A_missing_file_is_an_error_and_with_send_error_the_message_goes_on()
    {
        await using var h = await Flows.One(Node(new { type = "file in", filename = P("nope.txt"), format = "utf8", sendError = true }),
            extra: """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""");
        h.Send("n", JsonValue.Create("x"));
        var caught = await h.NextAsync("err");
        Assert.StartsWith("ENOENT", caught.Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var sent = await h.NextAsync("o0");
        Assert.False(sent.Data.ContainsKey("payload"));
        Assert.Equal("ENOENT", sent.Data["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Decodes_with_the_chosen_encoding()
    {
        File.WriteAllBytes(P("e.txt"), System.Text.Encoding.Latin1.GetBytes("café"));
        await using var h = await Flows.One(Node(new { type = "file in", filename = P("e.txt"), format = "utf8", encoding = "latin1" }));
        h.Send("n", JsonValue.Create(""));
        Assert.Equal("café", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }
}
