using System.Net;
using FlowFleet.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace FlowFleet.Server.Tests.NodeRed;

/// <summary>One FlowFleet server for all examples: each example is deployed over the previous one.</summary>
public sealed class ExampleServer : IAsyncLifetime
{
    public ServerFixture? Server { get; private set; }

    public async Task InitializeAsync() => Server = await ServerFixture.StartAsync(noAuth: true);

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

/// <summary>
/// Every example flow shipped in Node-RED 4's npm package (<c>@node-red/nodes/examples</c>, installed by <c>./test.sh</c>)
/// imports and deploys on FlowFleet with no unknown core node type and no node failing to start.
/// </summary>
public sealed class NodeRedExampleTests(ExampleServer server, ITestOutputHelper output) : IClassFixture<ExampleServer>
{
    private const string NotInstalled = "(Node-RED 4 not installed)";

    internal static string? ExamplesDirectory =>
        NodeRedProcess.FindInstall() is { } red ? Path.GetFullPath(Path.Combine(Path.GetDirectoryName(red)!, "..", "@node-red", "nodes", "examples")) : null;

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        if (ExamplesDirectory is not { } dir || !Directory.Exists(dir))
        {
            data.Add(NotInstalled);
            return data;
        }
        foreach (var f in Directory.GetFiles(dir, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(dir, f));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Example_deploys_with_every_core_type_known_and_started(string example)
    {
        if (example == NotInstalled)
        {
            var reason = Environment.GetEnvironmentVariable("FLOWFLEET_NODE_RED_SKIP");
            Assert.False(string.IsNullOrEmpty(reason), "Node-RED 4 is not installed; ./test.sh installs it (npm install node-red@4 into $HOME/.cache/flowfleet/node-red)");
            output.WriteLine("skipped: " + reason);
            return;
        }
        var s = server.Server!;
        // The TCP examples listen on 1883, which an MQTT broker on this machine may hold: a free port instead.
        var json = (await File.ReadAllTextAsync(Path.Combine(ExamplesDirectory!, example)))
            .Replace("\"1883\"", "\"" + Loopback.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture) + "\"", StringComparison.Ordinal);
        // Imported as the editor imports them: examples are clipboard exports whose nodes name a tab that is not in the
        // file, so they land on the active tab.
        var workspace = new FlowFleet.Editor.Model.FlowWorkspace();
        workspace.Load(System.Text.Json.Nodes.JsonNode.Parse("""[{"id":"examples","type":"tab","label":"Examples"}]""")!.AsArray(), null);
        workspace.Import(FlowFleet.Editor.Model.FlowWorkspace.ParseImport(json));
        var response = await s.Client.PostAsync("/red/flows", AuthTests.Json(workspace.ToFlows().ToJsonString()));
        Assert.True(response.StatusCode == HttpStatusCode.NoContent, $"{example}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var engine = s.App.Services.GetRequiredService<FlowEngine>();
        foreach (var w in engine.Warnings)
        {
            output.WriteLine(w);
        }
        Assert.DoesNotContain(engine.Warnings, w => w.Contains("Unknown node type", StringComparison.Ordinal));
        Assert.All(engine.Nodes, n => Assert.True(n.Known, $"{example}: {n.Type} ({n.Id}) is not a known type"));
        Assert.DoesNotContain(engine.Warnings, w => w.Contains("failed to start", StringComparison.Ordinal));
    }
}
