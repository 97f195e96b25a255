using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>Builds the usual test flow: the node under test (id "n") wired to helper nodes "o0", "o1", ...</summary>
internal static class Flows
{
    public static Task<FlowHarness> One(string nodeJson, int outputs = 1, string extra = "")
    {
        var node = JsonNode.Parse(nodeJson)!.AsObject();
        node["id"] = "n";
        node["z"] = "t";
        node["x"] = 0;
        node["y"] = 0;
        node["wires"] = new JsonArray(Enumerable.Range(0, outputs).Select(i => (JsonNode?)new JsonArray("o" + i)).ToArray());
        var helpers = string.Join(",", Enumerable.Range(0, outputs).Select(i => $$"""{"id":"o{{i}}","type":"helper","z":"t","x":0,"y":0,"wires":[]}"""));
        return FlowHarness.LoadAsync($$"""[{"id":"t","type":"tab"},{{node.ToJsonString()}},{{helpers}}{{extra}}]""");
    }

    public static double Num(JsonNode? n) => FlowFleet.Runtime.Messages.JsonTools.ToNumber(n);
}
