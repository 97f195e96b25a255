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

    /// <summary>The instance holding a connection of the device that waits for admission, when another instance announced one.</summary>
    string? WaiterOf(string deviceId);

    /// <summary>Connections on other instances that claim an accepted device's id (issue 13), each naming its instance.</summary>
    IReadOnlyList<DeviceClaim> Claims { get; }

    /// <summary>
    /// Has <paramref name="owner"/> decide on a connection it holds (<paramref name="target"/>: a device id, or a claim's key):
    /// it admits or turns away the device there. False when nothing of the kind is there (any more).
    /// </summary>
    Task<bool> DecideAsync(string owner, WaitingDecision decision, string target, CancellationToken ct);
}

/// <summary>What an operator decided about a connection in the waiting room.</summary>
public enum WaitingDecision
{
    Accept,
    Deny,
    AcceptClaim,
    DenyClaim,
}
