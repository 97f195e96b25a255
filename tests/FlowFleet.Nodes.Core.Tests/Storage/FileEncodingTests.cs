using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Tests.Storage;

/// <summary>The file nodes' encodings (iconv-lite names Node-RED offers), read errors by kind, and a stream that ends on a full chunk.</summary>
public sealed class FileEncodingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ff-fileenc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private static string Node(object config) => System.Text.Json.JsonSerializer.Serialize(config);

    private const string Catch = """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""";

    [Theory]
    [InlineData("base64", "aGkh", new byte[] { 0x68, 0x69, 0x21 })]
    [InlineData("hex", "68692", new byte[] { 0x68, 0x69 })]
    [InlineData("utf-16be", "hi", new byte[] { 0, 0x68, 0, 0x69 })]
    [InlineData("ucs2", "hi", new byte[] { 0x68, 0, 0x69, 0 })]
    [InlineData("latin1", "é", new byte[] { 0xE9 })]
    [InlineData("ascii", "A", new byte[] { 0x41 })]
    [InlineData("utf32", "A", new byte[] { 0x41, 0, 0, 0 })]
    public async Task Text_is_written_in_the_encoding_msg_encoding_names_and_read_back_with_it(string encoding, string text, byte[] bytes)
    {
        await using (var w = await Flows.One(Node(new { type = "file", filename = P("e.bin"), appendNewline = false, overwriteFile = "true", encoding = "setbymsg" })))
        {
            w.SendJson("n", new JsonObject { ["payload"] = text, ["encoding"] = encoding }.ToJsonString());
            await w.NextAsync("o0");
        }
        Assert.Equal(bytes, File.ReadAllBytes(P("e.bin")));
        await using var r = await Flows.One(Node(new { type = "file in", filename = P("e.bin"), format = "utf8", encoding }));
        r.Send("n", JsonValue.Create(""));
        // hex drops an odd last digit when writing; everything else reads back as written.
        Assert.Equal(encoding == "hex" ? "6869" : text, (await r.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_encoding_is_an_error_and_nothing_is_written()
    {
        await using var h = await Flows.One(Node(new { type = "file", filename = P("u.txt"), overwriteFile = "true", encoding = "ebcdic" }), extra: Catch);
        h.Send("n", JsonValue.Create("x"));
        Assert.Equal("Unsupported encoding 'ebcdic'", (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>());
        Assert.False(File.Exists(P("u.txt")));
    }

    [Fact]
    public async Task Reading_a_directory_is_EISDIR_and_the_filename_can_come_from_the_message()
    {
        Directory.CreateDirectory(P("dir"));
        await using var h = await Flows.One(Node(new { type = "file in", filename = "", format = "utf8", sendError = false }), extra: Catch);
        h.SendJson("n", new JsonObject { ["filename"] = P("dir") }.ToJsonString());
        Assert.StartsWith("EISDIR", (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        File.WriteAllText(P("named.txt"), "by msg");
        h.SendJson("n", new JsonObject { ["filename"] = P("named.txt") }.ToJsonString());
        Assert.Equal("by msg", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task A_stream_that_ends_on_a_full_chunk_sends_an_empty_closing_part()
    {
        var bytes = new byte[64 * 1024];
        Random.Shared.NextBytes(bytes);
        File.WriteAllBytes(P("full.bin"), bytes);
        await using var h = await Flows.One(Node(new { type = "file in", filename = P("full.bin"), format = "stream" }));
        h.Send("n", JsonValue.Create(""));
        var parts = await h.TakeAsync("o0", 2);
        Assert.Equal(bytes, JsonTools.BufferBytes(parts[0].Payload!));
        Assert.False(parts[1].Data.ContainsKey("payload"));
        Assert.Equal(1, Flows.Num(parts[1].Data["parts"]!["count"]));
        Assert.Equal(1, Flows.Num(parts[1].Data["parts"]!["index"]));
    }
}
