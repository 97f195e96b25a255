using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Nodes.Core.Tests.Function;

/// <summary>Behaviour from Node-RED's <c>test/nodes/core/function/90-exec_spec.js</c>, running real commands.</summary>
public sealed class ExecNodeTests
{
    private static Task<FlowHarness> Exec(string config, Action<IServiceCollection>? services = null) => Flows.One(config, outputs: 3, services: services);

    [Fact]
    public async Task Exec_mode_sends_stdout_and_the_return_code_with_the_payload_appended()
    {
        await using var h = await Exec("""{"type":"exec","command":"echo","addpay":"payload","append":"more","useSpawn":"false","oldrc":false}""");
        h.Send("n", JsonValue.Create("hello"));
        var stdout = await h.NextAsync("o0");
        Assert.Equal("hello more\n", stdout.Payload!.GetValue<string>());
        Assert.Equal("""{"code":0}""", stdout.Data["rc"]!.ToJsonString());
        Assert.Equal("""{"code":0}""", (await h.NextAsync("o2")).Payload!.ToJsonString());
        await h.AssertNothingAsync("o1", TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Exec_mode_reports_stderr_and_a_failing_code()
    {
        await using var h = await Exec("""{"type":"exec","command":"echo oops >&2; exit 3","addpay":"","useSpawn":"false"}""");
        h.Send("n", JsonValue.Create("ignored"));
        Assert.Equal("", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        Assert.Equal("oops\n", (await h.NextAsync("o1")).Payload!.GetValue<string>());
        var rc = (await h.NextAsync("o2")).Payload!;
        Assert.Equal(3, Flows.Num(rc["code"]));
        Assert.StartsWith("Command failed: echo oops", rc["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spawn_mode_streams_output_and_ends_with_the_code()
    {
        await using var h = await Exec("""{"type":"exec","command":"sh -c \"echo out; echo err >&2; exit 0\"","addpay":"","useSpawn":"true"}""");
        h.Send("n", JsonValue.Create(""));
        Assert.Equal("out\n", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        Assert.Equal("err\n", (await h.NextAsync("o1")).Payload!.GetValue<string>());
        Assert.Equal("""{"code":0}""", (await h.NextAsync("o2")).Payload!.ToJsonString());
    }

    [Theory]
    [InlineData("Name:\tdotnet\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001006\nSigCgt:\t0000000000000000\n", 0x6L)]
    [InlineData("SigIgn:\t0000000000001000\n", 0L)]
    [InlineData("SigIgn:\t0000000000000000\n", 0L)]
    [InlineData("no such line\n", 0L)]
    public void Signals_the_server_ignores_are_read_from_its_status_without_SIGPIPE(string status, long ignored) =>
        Assert.Equal(ignored, FlowFleet.Nodes.Core.Function.ExecSignals.Ignored(status));

    [Theory]
    [InlineData("sleep", true)]
    [InlineData("/bin/sh", true)]
    [InlineData("flowfleet-no-such-command", false)]
    [InlineData("/nonexistent/sleep", false)]
    public void Only_a_command_that_is_there_starts_through_env(string file, bool found) =>
        Assert.Equal(found, FlowFleet.Nodes.Core.Function.ExecSignals.Found(file));

    [Fact]
    public async Task Msg_kill_stops_a_running_command_while_the_node_takes_more_input()
    {
        // Also when the tests run with SIGINT ignored (started in the background of a non-interactive shell): the command
        // gets SIGINT's default action as Node-RED's would (ExecSignals).
        await using var h = await Exec("""{"type":"exec","command":"sleep 30","addpay":"","useSpawn":"true"}""");
        h.Send("n", JsonValue.Create(""));
        await Flows.UntilAsync(() => ((FlowFleet.Nodes.Core.Function.ExecNode)h.Engine.GetNode("n")!).ActiveCount == 1, "the command to start");
        h.SendJson("n", """{"kill":"SIGINT"}""");
        var rc = (await h.NextAsync("o2")).Payload!;
        Assert.Equal("""{"code":null,"signal":"SIGINT"}""", rc.ToJsonString());
    }

    [Fact]
    public async Task The_timer_kills_a_command_that_runs_too_long()
    {
        await using var h = await Exec("""{"type":"exec","command":"sleep 30","addpay":"","useSpawn":"false","timer":"0.2"}""");
        h.Send("n", JsonValue.Create(""));
        var rc = (await h.NextAsync("o2")).Payload!;
        Assert.Null(rc["code"]);
        Assert.Equal("SIGTERM", rc["signal"]!.GetValue<string>());
    }

    [Fact]
    public async Task Disabled_by_the_server_setting_it_refuses_to_start_with_a_clear_error()
    {
        await using var h = await Flows.One("""{"type":"exec","command":"echo","addpay":"payload"}""", outputs: 3,
            extra: """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""",
            services: s => s.Configure<CoreNodesOptions>(o => o.Exec.Enabled = false));
        Assert.Contains(h.Logs, l => l.Message.Contains("Nodes:Exec:Enabled", StringComparison.Ordinal));
        Assert.Equal("disabled", h.Engine.Nodes.Single(n => n.Id == "n").Status.Text);
        // A message is refused with the same error (catch nodes get it), having run nothing.
        h.Send("n", JsonValue.Create("x"));
        Assert.Equal("exec nodes are disabled on this server (setting Nodes:Exec:Enabled is false)", (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>());
        await h.AssertNothingYetAsync("o0");
        await h.AssertNothingYetAsync("o2");
    }
}
