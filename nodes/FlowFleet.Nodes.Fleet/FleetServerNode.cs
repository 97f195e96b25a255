using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Fleet;

/// <summary>The fleet server config node: the in-process Shelly fleet with the defaults fleet nodes use.</summary>
[NodeType("fleet server", Category = "config", Inputs = 0, Outputs = 0, Color = "#4a90d9", Icon = "server",
    Help = """
    The Shelly fleet this FlowFleet process serves on `/shelly`. Fleet nodes that name it use its default RPC `timeout`
    (seconds) and its `concurrency` (devices called at once for group calls).
    """)]
public sealed class FleetServerNode : FlowNode<FleetServerConfig>
{
    public TimeSpan Timeout => TimeSpan.FromSeconds(Config.Timeout is > 0 ? Config.Timeout.Value : 10);

    public int Concurrency => Config.Concurrency is > 0 ? Config.Concurrency.Value : 64;
}

public sealed class FleetServerConfig
{
    [NodeProperty(Default = "\"local fleet\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "10", UiHint = PropertyUi.Number, Label = "RPC timeout (s)")]
    public double? Timeout { get; set; }

    [NodeProperty(Default = "64", UiHint = PropertyUi.Number, Label = "Devices called at once")]
    public int? Concurrency { get; set; }
}

/// <summary>Finds the fleet server config node a node names, if any.</summary>
internal static class FleetServerLookup
{
    public static FleetServerNode? Of(INodeHost host, string? serverId) =>
        string.IsNullOrEmpty(serverId) ? null : host.FindNode(serverId) as FleetServerNode;
}
