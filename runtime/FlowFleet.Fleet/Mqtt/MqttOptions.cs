namespace FlowFleet.Fleet.Mqtt;

/// <summary>Configuration section <c>Mqtt</c>: the embedded broker and Shelly devices over MQTT.</summary>
public sealed class MqttOptions
{
    public MqttBrokerOptions Broker { get; set; } = new();

    public ShellyMqttOptions Shelly { get; set; } = new();
}

/// <summary><c>Mqtt:Broker</c>: the embedded MQTTnet broker (off unless enabled; <c>--demo</c> enables it).</summary>
public sealed class MqttBrokerOptions
{
    public bool Enabled { get; set; }

    /// <summary>Plain MQTT port (0 disables the plain listener when TLS is configured).</summary>
    public int Port { get; set; } = 1883;

    /// <summary>Address the listeners bind to.</summary>
    public string Address { get; set; } = "0.0.0.0";

    /// <summary>A PFX certificate file: when set, MQTT over TLS listens on <see cref="TlsPort"/>.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    public int TlsPort { get; set; } = 8883;

    /// <summary>Clients without credentials may connect (devices then wait in the waiting room unless admission is auto).</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>When <see cref="Port"/> is taken, listen on any free port instead (set by <c>--demo</c>).</summary>
    public bool AnyPortIfTaken { get; set; }
}

/// <summary><c>Mqtt:Shelly</c>: Shelly Gen2+ devices with MQTT enabled join the fleet.</summary>
public sealed class ShellyMqttOptions
{
    /// <summary>On by default whenever there is a broker to listen on (the embedded one, or <see cref="Server"/>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>An external broker (<c>mqtt://user:password@host:1883</c>, <c>mqtts://</c>); empty: the embedded broker.</summary>
    public string? Server { get; set; }

    /// <summary>Topic prefixes devices use (Shelly's default is the device id: one level, <c>+</c>).</summary>
    public string[] Prefixes { get; set; } = ["+"];

    /// <summary>The server's reply topic base: requests carry <c>src = ReplyTopic/&lt;prefix&gt;</c>, answers come on <c>…/rpc</c>.</summary>
    public string ReplyTopic { get; set; } = "flowfleet-rpc";

    /// <summary>Seconds a device whose connection the hub closed (denied, refused) is ignored before it may try again.</summary>
    public int RetryAfterSeconds { get; set; } = 30;
}
