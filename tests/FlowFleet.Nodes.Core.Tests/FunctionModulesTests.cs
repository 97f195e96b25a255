using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>Node-RED's function node "Setup → Modules" (<c>libs</c>) with Node's built-in os and path modules.</summary>
public sealed class FunctionModulesTests
{
    private const string Libs = ""","libs":[{"var":"os","module":"os"},{"var":"path","module":"node:path"}]""";

    [Fact]
    public async Task The_os_module_gives_this_machines_values()
    {
        await using var h = await FunctionNodeTests.Load(
            "msg.payload = [os.hostname(), os.platform(), os.EOL, os.cpus().length, os.totalmem() > 0, os.freemem() > 0, os.freemem() <= os.totalmem(), os.loadavg().length, os.uptime() > 0, os.type(), os.arch()]; return msg;",
            extra: Libs);
        h.Send("fn", JsonValue.Create(1));
        var p = (await h.NextAsync("o0")).Payload!.AsArray();
        Assert.Equal(System.Net.Dns.GetHostName(), p[0]!.GetValue<string>());
        Assert.Equal(OperatingSystem.IsWindows() ? "win32" : OperatingSystem.IsMacOS() ? "darwin" : "linux", p[1]!.GetValue<string>());
        Assert.Equal(Environment.NewLine, p[2]!.GetValue<string>());
        Assert.Equal(Environment.ProcessorCount, JsonTools.ToNumber(p[3]));
        Assert.True(p[4]!.GetValue<bool>() && p[5]!.GetValue<bool>() && p[6]!.GetValue<bool>());
        Assert.Equal(3, JsonTools.ToNumber(p[7]));
        Assert.True(p[8]!.GetValue<bool>());
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal("Linux", p[9]!.GetValue<string>());
            var memTotalKb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            await using var h2 = await FunctionNodeTests.Load("msg.payload = os.totalmem(); return msg;", extra: Libs);
            h2.Send("fn", JsonValue.Create(1));
            Assert.Equal(double.Parse(memTotalKb, System.Globalization.CultureInfo.InvariantCulture) * 1024, JsonTools.ToNumber((await h2.NextAsync("o0")).Payload));
        }
    }

    // Expected values are what Node's path.posix returns for the same calls.
    [Theory]
    [InlineData("path.join('/a/b', '../c', './d.txt')", "/a/c/d.txt")]
    [InlineData("path.join('a', '', 'b/')", "a/b/")]
    [InlineData("path.join()", ".")]
    [InlineData("path.join('..', 'x', '../..')", "../..")]
    [InlineData("path.resolve('/root', 'x', '../y')", "/root/y")]
    [InlineData("path.resolve('/a', '/b', 'c/')", "/b/c")]
    [InlineData("path.basename('/x/y/file.tar.gz')", "file.tar.gz")]
    [InlineData("path.basename('/x/y/file.tar.gz', '.gz')", "file.tar")]
    [InlineData("path.basename('/x/y/')", "y")]
    [InlineData("path.dirname('/x/y/z')", "/x/y")]
    [InlineData("path.dirname('/x')", "/")]
    [InlineData("path.dirname('file')", ".")]
    [InlineData("path.extname('index.html')", ".html")]
    [InlineData("path.extname('.profile')", "")]
    [InlineData("path.extname('a.b.')", ".")]
    [InlineData("path.normalize('/foo/bar//baz/asdf/quux/..')", "/foo/bar/baz/asdf")]
    [InlineData("path.sep + path.delimiter", "/:")]
    public async Task The_path_module_works_as_Nodes_posix_path(string expression, string expected)
    {
        await using var h = await FunctionNodeTests.Load($"msg.payload = {expression}; return msg;", extra: Libs);
        h.Send("fn", JsonValue.Create(1));
        Assert.Equal(expected, (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Path_resolve_starts_from_the_working_directory()
    {
        await using var h = await FunctionNodeTests.Load("msg.payload = path.resolve('x'); return msg;", extra: Libs);
        h.Send("fn", JsonValue.Create(1));
        Assert.Equal(Directory.GetCurrentDirectory().Replace('\\', '/').TrimEnd('/') + "/x", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task A_module_that_cannot_load_fails_its_node_with_a_clear_log_and_the_deploy_goes_on()
    {
        await using var h = await FunctionNodeTests.Load("return msg;", extra: ""","libs":[{"var":"lodash","module":"lodash"}]""");
        var log = await h.WaitForLogAsync(l => l.NodeId == "fn" && l.Message.StartsWith("Failed to load module lodash", StringComparison.Ordinal));
        Assert.Contains("Cannot find module 'lodash'", log.Message, StringComparison.Ordinal);
        await h.WaitForLogAsync(l => l.NodeId == "fn" && l.Message == "Function node failed to load external modules");
        h.Send("fn", JsonValue.Create(1));
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_module_variable_may_not_take_a_reserved_name()
    {
        await using var h = await FunctionNodeTests.Load("return msg;", extra: ""","libs":[{"var":"flow","module":"os"}]""");
        await h.WaitForLogAsync(l => l.NodeId == "fn" && l.Message == "Invalid module variable name: flow");
    }

    [Fact]
    public async Task The_FunctionExternalModules_setting_false_refuses_nodes_with_modules()
    {
        await using var h = await FlowHarness.LoadAsync("""
            [{"id":"t","type":"tab"},
             {"id":"fn","type":"function","z":"t","func":"return msg;","libs":[{"var":"os","module":"os"}],"x":0,"y":0,"wires":[["o0"]]},
             {"id":"plain","type":"function","z":"t","func":"return msg;","libs":[],"x":0,"y":0,"wires":[["o1"]]},
             {"id":"o0","type":"helper","z":"t","x":0,"y":0,"wires":[]},
             {"id":"o1","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """, services: s => s.Configure<CoreNodesOptions>(o => o.FunctionExternalModules = false));
        h.Send("plain", JsonValue.Create(1));
        await h.NextAsync("o1");
        h.Send("fn", JsonValue.Create(1));
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(200));
        var log = await h.WaitForLogAsync(l => l.NodeId == "fn" && l.Level == "error");
        Assert.Contains("not allowed to load external modules", log.Message, StringComparison.Ordinal);
    }
}
