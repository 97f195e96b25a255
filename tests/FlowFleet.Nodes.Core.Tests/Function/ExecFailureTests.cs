using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests.Function;

/// <summary>The exec node when the command is missing or cannot start, when it prints bytes that are not UTF-8, and old-style return codes.</summary>
public sealed class ExecFailureTests
{
    private const string Catch = """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""";

    private static Task<FlowHarness> Exec(string config) => Flows.One(config, outputs: 3, extra: Catch);

    [Fact]
    public async Task A_command_that_does_not_exist_is_ENOENT_with_return_code_minus_2()
    {
        await using var h = await Exec("""{"type":"exec","command":"ff-no-such-command-xyz","addpay":"","useSpawn":"true"}""");
        h.Send("n", JsonValue.Create(""));
        Assert.StartsWith("spawn ff-no-such-command-xyz ENOENT", (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("""{"code":-2}""", (await h.NextAsync("o2")).Payload!.ToJsonString());
    }

    [Fact]
    public async Task An_empty_command_to_spawn_is_an_error()
    {
        await using var h = await Exec("""{"type":"exec","command":"  ","addpay":"","useSpawn":"true"}""");
        h.Send("n", JsonValue.Create(""));
        Assert.Equal("exec: no command to run", (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>());
        await h.AssertNothingAsync("o2", TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task Output_that_is_not_utf8_is_a_buffer()
    {
        await using var h = await Exec("""{"type":"exec","command":"printf '\\377\\376'; exit 2","addpay":"","useSpawn":"false"}""");
        h.Send("n", JsonValue.Create(""));
        var stdout = await h.NextAsync("o0");
        Assert.True(JsonTools.IsBuffer(stdout.Payload));
        Assert.Equal(new byte[] { 0xFF, 0xFE }, JsonTools.BufferBytes(stdout.Payload!));
        Assert.Equal(2, Flows.Num((await h.NextAsync("o2")).Payload!["code"]));
    }

    [Fact]
    public async Task Spawn_mode_with_old_return_codes_sends_the_bare_code()
    {
        await using var h = await Exec("""{"type":"exec","command":"sh -c \"exit 2\"","addpay":"","useSpawn":"true","oldrc":true}""");
        h.Send("n", JsonValue.Create(""));
        Assert.Equal("2", (await h.NextAsync("o2")).Payload!.ToJsonString());
    }
}
