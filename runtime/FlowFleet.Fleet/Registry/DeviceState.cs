using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// The live picture of one device, shared by the hub (which updates it) and everything that reads it. Lock
/// <see cref="Gate"/> to read or change the JSON members; the scalar members may be read without it.
/// </summary>
public sealed class DeviceState(string id)
{
    public string Id { get; } = id;

    public Lock Gate { get; } = new();

    public string? Name { get; set; }

    public string? Model { get; set; }

    public string? App { get; set; }

    public int Gen { get; set; } = 2;

    public string? Mac { get; set; }

    public string? FirmwareVersion { get; set; }

    public string? Ip { get; set; }

    /// <summary>pending, accepted or denied.</summary>
    public string Admission { get; set; } = AdmissionStates.Pending;

    public JsonObject? Info { get; set; }

    public JsonObject? Config { get; set; }

    public JsonObject Status { get; set; } = [];

    /// <summary>Desired state ("shadow"): <c>{"switch:0":{"output":true}, "config":{"switch:0":{"name":"Heater"}}}</c>.</summary>
    public JsonObject? Desired { get; set; }

    public string[] Methods { get; set; } = [];

    public string[] Tags { get; set; } = [];

    public bool Online { get; set; }

    public DateTime FirstSeen { get; set; }

    public DateTime LastSeen { get; set; }

    public string? Password { get; set; }

    internal bool Dirty { get; set; }

    internal long LastTelemetryMs { get; set; }

    /// <summary>The fields of <c>GET /api/devices</c> items.</summary>
    public JsonObject Summary(IEnumerable<string> groups)
    {
        lock (Gate)
        {
            return new JsonObject
            {
                ["id"] = Id, ["name"] = Name, ["model"] = Model, ["app"] = App, ["gen"] = Gen, ["online"] = Online, ["admission"] = Admission,
                ["mac"] = Mac, ["fw"] = FirmwareVersion, ["ip"] = Ip, ["rssi"] = Status["wifi"]?["rssi"]?.DeepClone(),
                ["tags"] = new JsonArray(Tags.Select(t => (JsonNode?)t).ToArray()), ["groups"] = new JsonArray(groups.Select(g => (JsonNode?)g).ToArray()),
                ["lastSeen"] = LastSeen == default ? null : LastSeen.ToString("O"), ["readings"] = Readings(),
            };
        }
    }

    /// <summary>The headline numbers of a device (power, energy, temperature, position, brightness, outputs).</summary>
    public JsonObject Readings()
    {
        lock (Gate)
        {
            var r = new JsonObject();
            double power = 0, energy = 0;
            bool hasPower = false, hasEnergy = false;
            foreach (var (key, value) in Status)
            {
                if (value is not JsonObject c)
                {
                    continue;
                }
                if (c["apower"] is JsonValue ap)
                {
                    power += ap.GetValue<double>();
                    hasPower = true;
                }
                if (c["total_act_power"] is JsonValue tp)
                {
                    power += tp.GetValue<double>();
                    hasPower = true;
                }
                if (c["aenergy"]?["total"] is JsonValue ae)
                {
                    energy += ae.GetValue<double>();
                    hasEnergy = true;
                }
                if (c["total_act"] is JsonValue te)
                {
                    energy += te.GetValue<double>();
                    hasEnergy = true;
                }
                if (key.StartsWith("temperature:", StringComparison.Ordinal) && c["tC"] is JsonValue t)
                {
                    r["temperature"] = t.DeepClone();
                }
                else if (r["temperature"] is null && c["temperature"]?["tC"] is JsonValue t2)
                {
                    r["temperature"] = t2.DeepClone();
                }
                if (key.StartsWith("humidity:", StringComparison.Ordinal))
                {
                    r["humidity"] = c["rh"]?.DeepClone();
                }
                if (key.StartsWith("devicepower:", StringComparison.Ordinal))
                {
                    r["battery"] = c["battery"]?["percent"]?.DeepClone();
                }
                if (key.StartsWith("cover:", StringComparison.Ordinal))
                {
                    r["position"] = c["current_pos"]?.DeepClone();
                    r["coverState"] = c["state"]?.DeepClone();
                }
                if (key.StartsWith("light:", StringComparison.Ordinal))
                {
                    r["brightness"] = c["brightness"]?.DeepClone();
                }
                if ((key.StartsWith("switch:", StringComparison.Ordinal) || key.StartsWith("light:", StringComparison.Ordinal)) && c["output"] is JsonValue o)
                {
                    r[key] = o.DeepClone();
                }
            }
            if (hasPower)
            {
                r["power"] = Math.Round(power, 1);
            }
            if (hasEnergy)
            {
                r["energyKWh"] = Math.Round(energy / 1000, 3);
            }
            return r;
        }
    }
}

public static class AdmissionStates
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Denied = "denied";
}
