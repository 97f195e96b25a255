using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

public sealed partial class DeviceState
{
    /// <summary>The fields of <c>GET /api/devices</c> items.</summary>
    public JsonObject Summary(IEnumerable<string> groups)
    {
        lock (Gate)
        {
            return new JsonObject
            {
                ["id"] = Id, ["name"] = Name, ["model"] = Model, ["app"] = App, ["gen"] = Gen, ["online"] = Online, ["admission"] = Admission,
                ["mac"] = Mac, ["fw"] = FirmwareVersion, ["ip"] = Ip, ["transport"] = Transport, ["rssi"] = JsonRead.Number(StatusOf("wifi").Field("rssi")),
                ["tags"] = new JsonArray(Tags.Select(t => (JsonNode?)t).ToArray()), ["groups"] = new JsonArray(groups.Select(g => (JsonNode?)g).ToArray()),
                ["lastSeen"] = LastSeen == default ? null : LastSeen.ToString("O"), ["readings"] = Readings(),
            };
        }
    }

    /// <summary>The summary plus info, status, config, desired state and methods (<c>GET /api/devices/{id}</c>, <c>Device.Get</c>, the registry node).</summary>
    public JsonObject Details(IEnumerable<string> groups)
    {
        var o = Summary(groups);
        lock (Gate)
        {
            // Info, Status and Config already hand out fresh copies.
            o["info"] = Info;
            o["status"] = Status;
            o["config"] = Config;
            o["desired"] = Desired?.DeepClone();
            o["methods"] = new JsonArray(Methods.Select(m => (JsonNode?)m).ToArray());
        }
        return o;
    }

    /// <summary>The headline numbers of a device (power, energy, temperature, position, brightness, outputs). Any shape of
    /// status is read: a field of the wrong type counts as absent (<see cref="JsonRead"/>).</summary>
    public JsonObject Readings(JsonObject? status = null)
    {
        lock (Gate)
        {
            status ??= Status;
            var r = new JsonObject();
            double power = 0, energy = 0;
            bool hasPower = false, hasEnergy = false;
            void Add(ref double sum, ref bool has, double? value)
            {
                if (value is { } v)
                {
                    sum += v;
                    has = true;
                }
            }
            void Set(string name, JsonNode? value)
            {
                if (value is not null)
                {
                    r[name] = value;
                }
            }
            foreach (var (key, value) in status)
            {
                if (value is not JsonObject c)
                {
                    continue;
                }
                Add(ref power, ref hasPower, JsonRead.Number(c.Field("apower")));
                Add(ref power, ref hasPower, JsonRead.Number(c.Field("total_act_power")));
                Add(ref energy, ref hasEnergy, JsonRead.Number(c.Field("aenergy").Field("total")));
                Add(ref energy, ref hasEnergy, JsonRead.Number(c.Field("total_act")));
                if (key.StartsWith("temperature:", StringComparison.Ordinal) && JsonRead.Number(c.Field("tC")) is { } t)
                {
                    r["temperature"] = t;
                }
                else if (r["temperature"] is null && JsonRead.Number(c.Field("temperature").Field("tC")) is { } t2)
                {
                    r["temperature"] = t2;
                }
                if (key.StartsWith("humidity:", StringComparison.Ordinal))
                {
                    Set("humidity", JsonRead.Number(c.Field("rh")));
                }
                if (key.StartsWith("devicepower:", StringComparison.Ordinal))
                {
                    Set("battery", JsonRead.Number(c.Field("battery").Field("percent")));
                }
                if (key.StartsWith("cover:", StringComparison.Ordinal))
                {
                    Set("position", JsonRead.Number(c.Field("current_pos")));
                    Set("coverState", JsonRead.Text(c.Field("state")));
                }
                if (key.StartsWith("light:", StringComparison.Ordinal))
                {
                    Set("brightness", JsonRead.Number(c.Field("brightness")));
                }
                if ((key.StartsWith("switch:", StringComparison.Ordinal) || key.StartsWith("light:", StringComparison.Ordinal)) && JsonRead.Bool(c.Field("output")) is { } o)
                {
                    r[key] = o;
                }
            }
            // Finite readings can still add up to infinity, which JSON can't carry.
            if (hasPower && double.IsFinite(power))
            {
                r["power"] = Math.Round(power, 1);
            }
            if (hasEnergy && double.IsFinite(energy))
            {
                r["energyKWh"] = Math.Round(energy / 1000, 3);
            }
            return r;
        }
    }
}
