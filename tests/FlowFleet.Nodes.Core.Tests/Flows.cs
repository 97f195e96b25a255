using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>Builds the usual test flow: the node under test (id "n") wired to helper nodes "o0", "o1", ...</summary>
internal static class Flows
{
    public static Task<FlowHarness> One(string nodeJson, int outputs = 1, string extra = "", Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null)
    {
        var node = JsonNode.Parse(nodeJson)!.AsObject();
        node["id"] = "n";
        node["z"] = "t";
        node["x"] = 0;
        node["y"] = 0;
        node["wires"] = new JsonArray(Enumerable.Range(0, outputs).Select(i => (JsonNode?)new JsonArray("o" + i)).ToArray());
        var helpers = string.Join(",", Enumerable.Range(0, outputs).Select(i => $$"""{"id":"o{{i}}","type":"helper","z":"t","x":0,"y":0,"wires":[]}"""));
        return FlowHarness.LoadAsync($$"""[{"id":"t","type":"tab"},{{node.ToJsonString()}}{{(helpers.Length > 0 ? "," : "")}}{{helpers}}{{extra}}]""", services: services);
    }

    /// <summary>Waits until a condition over a running node's state holds (for state no message reveals).</summary>
    public static Task UntilAsync(Func<bool> condition, string what) =>
        FlowFleet.Tests.Poll.UntilAsync(condition, what, (int)FlowHarness.DefaultTimeout.TotalMilliseconds);

    /// <summary>
    /// A complete node scoped to the node under test, wired to helper "handled": a message reaching "handled" shows that the
    /// node has finished with it, so <see cref="FlowHarness.AssertNothingYetAsync"/> then proves it sent nothing, with no
    /// waiting window.
    /// </summary>
    public const string Handled = """,{"id":"done","type":"complete","z":"t","scope":["n"],"x":0,"y":0,"wires":[["handled"]]},{"id":"handled","type":"helper","z":"t","x":0,"y":0,"wires":[]}""";

    public static double Num(JsonNode? n) => FlowFleet.Runtime.Messages.JsonTools.ToNumber(n);
}
