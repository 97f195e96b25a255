using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Tests;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Nodes.Fleet.Tests;

/// <summary>
/// A fleet node under test in a real flow engine, beside a real <c>/shelly</c> endpoint (hub + registry) with simulated devices.
/// The node is <c>n</c>, wired to helper <c>out</c>; a catch node sends errors to helper <c>err</c> and a status node the
/// node's statuses to helper <c>status</c>.
/// </summary>
public sealed class FleetFlow : IAsyncDisposable
{
    private FleetFlow(FleetHost host, SimFleet fleet, FlowHarness flow)
    {
        Host = host;
        Fleet = fleet;
        Flow = flow;
    }

    public FleetHost Host { get; }

    public SimFleet Fleet { get; }

    public FlowHarness Flow { get; }

    public IReadOnlyList<string> Ids => [.. Fleet.Devices.Select(d => d.Id)];

    /// <param name="node">The node's JSON (type and config); id, tab, position and wires are added.</param>
    /// <param name="devices">Simulated devices, connected and online before the flow starts unless <paramref name="connect"/> is false.</param>
    /// <param name="extra">More flow nodes (JSON objects, comma-separated) on tab <c>t</c>.</param>
    /// <param name="services">More services for the flow engine (BLE).</param>
    /// <param name="hostServices">More services for the fleet host (joining a cluster).</param>
    /// <param name="wire">The node <c>n</c> is wired to (a node of <paramref name="extra"/> wired on to <c>out</c>).</param>
    /// <param name="engine">The flow engine's options (queue capacity).</param>
    public static async Task<FleetFlow> StartAsync(string node, int devices = 1, string profile = "plus1pm", bool connect = true, string extra = "",
        Action<IServiceCollection, FleetHost>? services = null, Action<IServiceCollection>? hostServices = null, string wire = "out",
        Action<Runtime.FlowEngineOptions>? engine = null)
    {
        var host = await FleetHost.StartAsync(services: hostServices);
        var fleet = new SimFleet(host.ShellyUrl, devices, profile, FleetHost.FastSim);
        if (connect && devices > 0)
        {
            await fleet.StartAsync();
            // Online, and the registry holds what the hub reads on connect (config, methods), which nodes compare and report.
            await Poll.UntilAsync(() => host.Hub.OnlineCount >= devices && fleet.Devices.All(d => host.Devices.Get(d.Id) is { Config: not null, Methods.Length: > 0 }),
                $"{devices} devices online");
        }
        var n = JsonNode.Parse(node)!.AsObject();
        n["id"] = "n";
        n["z"] = "t";
        n["x"] = 100;
        n["y"] = 100;
        n["wires"] = new JsonArray(new JsonArray(wire));
        var json = $$"""
            [{"id":"t","type":"tab"},{{n.ToJsonString()}},
             {"id":"c","type":"catch","z":"t","scope":null,"x":0,"y":0,"wires":[["err"]]},
             {"id":"s","type":"status","z":"t","scope":["n"],"x":0,"y":0,"wires":[["status"]]},
             {"id":"out","type":"helper","z":"t","x":0,"y":0,"wires":[]},
             {"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]},
             {"id":"status","type":"helper","z":"t","x":0,"y":0,"wires":[]}{{(extra.Length > 0 ? "," + extra : "")}}]
            """;
        var flow = await FlowHarness.LoadAsync(json, engine, services: sc =>
        {
            host.ShareWith(sc);
            services?.Invoke(sc, host);
        }, nodeAssemblies: typeof(RpcCallNode).Assembly);
        return new FleetFlow(host, fleet, flow);
    }

    public void Send(string json) => Flow.SendJson("n", json);

    public Task<FlowMessage> OutAsync() => Flow.NextAsync("out");

    /// <summary>The message text of the next error a catch node receives.</summary>
    public async Task<string> ErrorAsync() => (await Flow.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>();

    /// <summary>The first status of the node, from now on, whose text satisfies <paramref name="match"/> (statuses before it are skipped).</summary>
    public async Task<JsonObject> StatusAsync(Func<string, bool> match)
    {
        while (true)
        {
            var status = (await Flow.NextAsync("status")).Data["status"]!.AsObject();
            if (match(status["text"]?.GetValue<string>() ?? ""))
            {
                return status;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Flow.DisposeAsync();
        await Fleet.DisposeAsync();
        await Host.DisposeAsync();
    }
}
