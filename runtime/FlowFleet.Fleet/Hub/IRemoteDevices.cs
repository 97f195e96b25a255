using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Hub;

/// <summary>Devices whose sessions live in another instance of a cluster (see <c>FlowFleet.Fleet.Cluster.NatsCluster</c>).</summary>
public interface IRemoteDevices
{
    /// <summary>This instance's name in the cluster.</summary>
    string Instance { get; }

    /// <summary>The instance a device is connected to, when it is not this one; null when no other instance announced it.</summary>
    string? OwnerOf(string deviceId);

    /// <summary>Calls the device on its owner; fails with the same <c>ShellyRpcException</c> codes as a local call (the caller audits it).</summary>
    Task<JsonNode?> CallAsync(string owner, string deviceId, string method, JsonNode? parameters, TimeSpan timeout, CancellationToken ct);
}
