using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>
/// Buffers through a function node with buffer.js's C# utf8/hex path (ScriptBufferNative; its equality with buffer.js's
/// JavaScript is FlowFleet.Runtime.Tests' ScriptBufferNativeTests): writing into a buffer, isBuffer, and slices leaving the script.
/// </summary>
public sealed class FunctionBufferNativeTests
{
    private static async Task<JsonObject> Run(string body)
    {
        await using var h = await FunctionNodeTests.Load(body, outputs: 1);
        h.Send("fn", FlowMessage.Create(JsonValue.Create(0), ""));
        return (await h.NextAsync("o0")).Data;
    }

    [Fact]
    public async Task Writing_utf8_into_a_buffer_and_isBuffer_work_as_in_node()
    {
        var d = await Run("""
            var b = Buffer.alloc(6); b.write('é€', 1);
            msg.written = Array.from(b);
            msg.isBuffer = Buffer.isBuffer(Buffer.from('x')) && Buffer.from('x') instanceof Uint8Array;
            return msg;
            """);
        Assert.Equal("[0,195,169,226,130,172]", d["written"]!.ToJsonString());
        Assert.True(d["isBuffer"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_buffer_leaving_the_script_is_its_own_bytes_even_as_a_slice()
    {
        var d = await Run("""
            var whole = Buffer.from('héllo');
            msg.payload = whole.slice(1, 4);
            msg.whole = whole;
            return msg;
            """);
        Assert.Equal("""{"type":"Buffer","data":[195,169,108]}""", d["payload"]!.ToJsonString());
        Assert.Equal("""{"type":"Buffer","data":[104,195,169,108,108,111]}""", d["whole"]!.ToJsonString());
    }
}
