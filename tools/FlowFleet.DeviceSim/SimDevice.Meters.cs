using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.DeviceSim;

/// <summary>Meter simulation: power, energy and temperatures moving between reports.</summary>
public sealed partial class SimDevice
{
    /// <summary>
    /// One report period passed: meters move plausibly (power jitters, energy accumulates, temperatures drift) and the
    /// changed components go out as a NotifyStatus.
    /// </summary>
    public void Tick(TimeSpan elapsed)
    {
        JsonObject changes = [];
        lock (_gate)
        {
            var hours = elapsed.TotalHours;
            foreach (var (key, (status, _)) in _components)
            {
                if (key.StartsWith("switch:", StringComparison.Ordinal))
                {
                    if (status["output"]!.GetValue<bool>())
                    {
                        SetSwitch(status, true, status["source"]!.GetValue<string>());
                        AddEnergy(status, status["apower"]!.GetValue<double>() * hours);
                    }
                    Drift(status["temperature"]!.AsObject(), 35);
                    changes[key] = status.DeepClone();
                }
                else if (key.StartsWith("light:", StringComparison.Ordinal) || key.StartsWith("cover:", StringComparison.Ordinal))
                {
                    Drift(status["temperature"]!.AsObject(), 33);
                    changes[key] = new JsonObject { ["temperature"] = status["temperature"]!.DeepClone() };
                }
                else if (key == "em:0")
                {
                    var fresh = SimProfile.EmStatus(Index, 0.8 + _random.NextDouble() * 0.4);
                    foreach (var (k, v) in fresh)
                    {
                        status[k] = v?.DeepClone();
                    }
                    changes[key] = status.DeepClone();
                    var emdata = _components["emdata:0"].Status;
                    foreach (var phase in new[] { "a", "b", "c" })
                    {
                        emdata[$"{phase}_total_act_energy"] = Math.Round(emdata[$"{phase}_total_act_energy"]!.GetValue<double>() + fresh[$"{phase}_act_power"]!.GetValue<double>() * hours, 3);
                    }
                    emdata["total_act"] = Math.Round(emdata["total_act"]!.GetValue<double>() + fresh["total_act_power"]!.GetValue<double>() * hours, 3);
                    changes["emdata:0"] = emdata.DeepClone();
                }
                else if (key == "temperature:0")
                {
                    Drift(status, 21);
                    changes[key] = status.DeepClone();
                }
                else if (key == "humidity:0")
                {
                    status["rh"] = Math.Round(Math.Clamp(status["rh"]!.GetValue<double>() + (_random.NextDouble() - 0.5), 20, 90), 1);
                    changes[key] = status.DeepClone();
                }
            }
            if (changes.Count == 0)
            {
                var sys = _components["sys"].Status;
                sys["ram_free"] = 140000 + _random.Next(10000);
                changes["sys"] = new JsonObject { ["ram_free"] = sys["ram_free"]!.DeepClone() };
            }
            changes["ts"] = ShellyFrames.Now();
        }
        Send(ShellyFrames.Notification(Id, "NotifyStatus", changes));
    }

    private void Drift(JsonObject temperature, double around)
    {
        var c = temperature["tC"]!.GetValue<double>();
        c = Math.Round(c + (around - c) * 0.1 + (_random.NextDouble() - 0.5) * 0.4, 1);
        temperature["tC"] = c;
        temperature["tF"] = Math.Round(c * 9 / 5 + 32, 1);
    }

    private static void AddEnergy(JsonObject status, double wh)
    {
        var energy = status["aenergy"]!.AsObject();
        energy["total"] = Math.Round(energy["total"]!.GetValue<double>() + wh, 3);
        var minute = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60;
        var byMinute = energy["by_minute"]!.AsArray();
        if (energy["minute_ts"]!.GetValue<long>() != minute)
        {
            byMinute.Insert(0, 0.0);
            byMinute.RemoveAt(byMinute.Count - 1);
            energy["minute_ts"] = minute;
        }
        byMinute[0] = Math.Round(byMinute[0]!.GetValue<double>() + wh * 1000, 3);
    }
}
