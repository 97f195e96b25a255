using System.Text.Json.Nodes;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network.Mqtt;

/// <summary>Node-RED's <c>mqtt-broker</c> defaults (10-mqtt.html), with the same names and kinds (many are strings).</summary>
public sealed class MqttBrokerConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", Required = true, Label = "Server", Help = "Host name or address; `flowfleet` is the embedded broker (Mqtt:Broker:Enabled); `mqtt://`, `mqtts://` URLs work too.")]
    public string? Broker { get; set; }

    [NodeProperty(Default = "1883", UiHint = PropertyUi.Number, Label = "Port")]
    public JsonNode? Port { get; set; }

    /// <summary>Node-RED's credentials <c>user</c>/<c>password</c>: the form writes them to the node's encrypted credentials.</summary>
    [NodeProperty(Secret = true, Label = "Username")]
    public string? User { get; set; }

    [NodeProperty(Secret = true, Label = "Password")]
    public string? Password { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Config, ConfigType = "tls-config", Label = "TLS configuration")]
    public string? Tls { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Client ID", Help = "Empty: a generated id (then a clean session is always used).")]
    public string? Clientid { get; set; }

    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "Connect automatically")]
    public JsonNode? AutoConnect { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Use TLS")]
    public JsonNode? Usetls { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Verify server certificate")]
    public JsonNode? Verifyservercert { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Hidden)]
    public JsonNode? Compatmode { get; set; }

    [NodeProperty(Default = "4", UiHint = PropertyUi.Select, Options = ["3:MQTT V3.1 (legacy)", "4:MQTT V3.1.1", "5:MQTT V5"], Label = "Protocol")]
    public JsonNode? ProtocolVersion { get; set; }

    [NodeProperty(Default = "60", UiHint = PropertyUi.Number, Label = "Keep alive (s)")]
    public JsonNode? Keepalive { get; set; }

    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "Use clean session")]
    public JsonNode? Cleansession { get; set; }

    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "Automatically unsubscribe when disconnecting")]
    public JsonNode? AutoUnsubscribe { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Birth topic")]
    public string? BirthTopic { get; set; }

    [NodeProperty(Default = "\"0\"", UiHint = PropertyUi.Select, Options = ["0", "1", "2"], Label = "Birth QoS")]
    public JsonNode? BirthQos { get; set; }

    [NodeProperty(Default = "\"false\"", UiHint = PropertyUi.Select, Options = ["false", "true"], Label = "Birth retain")]
    public JsonNode? BirthRetain { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Birth payload")]
    public JsonNode? BirthPayload { get; set; }

    [NodeProperty(Default = "{}", UiHint = PropertyUi.Json, Label = "Birth v5 properties")]
    public JsonObject? BirthMsg { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Close topic")]
    public string? CloseTopic { get; set; }

    [NodeProperty(Default = "\"0\"", UiHint = PropertyUi.Select, Options = ["0", "1", "2"], Label = "Close QoS")]
    public JsonNode? CloseQos { get; set; }

    [NodeProperty(Default = "\"false\"", UiHint = PropertyUi.Select, Options = ["false", "true"], Label = "Close retain")]
    public JsonNode? CloseRetain { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Close payload")]
    public JsonNode? ClosePayload { get; set; }

    [NodeProperty(Default = "{}", UiHint = PropertyUi.Json, Label = "Close v5 properties")]
    public JsonObject? CloseMsg { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Will topic")]
    public string? WillTopic { get; set; }

    [NodeProperty(Default = "\"0\"", UiHint = PropertyUi.Select, Options = ["0", "1", "2"], Label = "Will QoS")]
    public JsonNode? WillQos { get; set; }

    [NodeProperty(Default = "\"false\"", UiHint = PropertyUi.Select, Options = ["false", "true"], Label = "Will retain")]
    public JsonNode? WillRetain { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Will payload")]
    public JsonNode? WillPayload { get; set; }

    [NodeProperty(Default = "{}", UiHint = PropertyUi.Json, Label = "Will v5 properties")]
    public JsonObject? WillMsg { get; set; }

    [NodeProperty(Default = "\"\"", Label = "User properties (v5, JSON)")]
    public JsonNode? UserProps { get; set; }

    [NodeProperty(Default = "0", UiHint = PropertyUi.Number, Label = "Session expiry (s, v5)")]
    public JsonNode? SessionExpiry { get; set; }
}
