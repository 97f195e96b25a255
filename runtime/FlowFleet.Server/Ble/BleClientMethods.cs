using System.Text.Json.Nodes;
using FlowFleet.Fleet.Ble;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Server.Auth;

namespace FlowFleet.Server.Ble;

/// <summary><c>Ble.*</c> methods of the <c>/client</c> JSON-RPC websocket: Scan, List, Provision, Call.</summary>
public sealed class BleClientMethods(BleService ble, BleProvisioner provisioner)
{
    public async Task<JsonNode?> CallAsync(string method, JsonObject p, Action<string> require, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(require);
        string Str(string name) => p[name]?.GetValue<string>() ?? throw new ArgumentException($"params.{name} is required");
        switch (method.ToLowerInvariant())
        {
            case "ble.scan":
                require(Policies.DevicesControl);
                if (p["action"]?.GetValue<string>() == "stop")
                {
                    await ble.StopScanAsync(ct);
                }
                else
                {
                    await ble.StartScanAsync(ct);
                }
                return new JsonObject { ["scanning"] = ble.Scanning };
            case "ble.list":
                require(Policies.DevicesRead);
                return new JsonObject
                {
                    ["adapters"] = new JsonArray(ble.Adapters.Select(a => (JsonNode?)a.ToJson()).ToArray()),
                    ["items"] = new JsonArray(ble.InRange().Select(d => (JsonNode?)d.ToJson()).ToArray()),
                };
            case "ble.provision":
                require(Policies.DevicesControl);
                var devices = p["devices"] is JsonArray arr ? arr.Select(x => x!.GetValue<string>()).ToList() : [Str("device")];
                var requests = BleApi.ProvisionRequests(devices, p["ssid"]?.GetValue<string>(), p["password"]?.GetValue<string>(), p["server"]?.GetValue<string>(),
                    p["adapter"]?.GetValue<string>(), p["timeout"]?.GetValue<double>());
                var results = await provisioner.ProvisionManyAsync(requests, 4, ct: ct);
                return new JsonObject { ["results"] = new JsonArray(results.Select(r => (JsonNode?)r.ToJson()).ToArray()) };
            case "ble.call":
                require(Policies.DevicesControl);
                try
                {
                    var (result, via) = await ble.CallAsync(Str("device"), Str("method"), p["params"], p["adapter"]?.GetValue<string>(), ct);
                    return new JsonObject { ["result"] = result, ["station"] = via };
                }
                catch (BleException ex)
                {
                    throw new InvalidOperationException(ex.Message, ex);
                }
            default:
                throw new ShellyRpcException(-32601, $"Method not found: {method}");
        }
    }
}
