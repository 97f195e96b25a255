namespace FlowFleet.Nodes.Core.Network.Mqtt;

/// <summary>
/// Resolves a broker named in an <c>mqtt-broker</c> node to an endpoint of this process (the server registers one for its
/// embedded broker, <c>Mqtt:Broker:Enabled</c>): flows reach it by name, with credentials the server hands out.
/// </summary>
public interface IMqttBrokerLocator
{
    /// <summary>The endpoint for <paramref name="name"/>, or null when no broker of that name runs here.</summary>
    MqttBrokerEndpoint? Find(string name);
}

/// <summary>Where an embedded broker listens and how this process signs in to it.</summary>
public sealed record MqttBrokerEndpoint(string Host, int Port, string? UserName, string? Password);

/// <summary><c>Nodes:Mqtt</c>: Node-RED's <c>mqttReconnectTime</c>.</summary>
public sealed class MqttNodeOptions
{
    /// <summary>Milliseconds between reconnect attempts (Node-RED's default: 5000).</summary>
    public int ReconnectTime { get; set; } = 5000;
}
