using System.Globalization;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.DeviceSim;

/// <summary>Switch, light, input and cover methods: outputs that change state and emit NotifyStatus/NotifyEvent.</summary>
public sealed partial class SimDevice
{
    private bool SwitchMethod(string verb, JsonObject status, JsonObject p, string source, List<JsonObject> outbox, out JsonNode? result)
    {
        var was = status["output"]!.GetValue<bool>();
        bool on;
        switch (verb.ToLowerInvariant())
        {
            case "set":
                on = BoolArg(p, "on") ?? throw Missing("on");
                break;
            case "toggle":
                on = !was;
                break;
            default:
                result = null;
                return false;
        }
        SetSwitch(status, on, source);
        result = new JsonObject { ["was_on"] = was };
        return true;
    }

    private void SetSwitch(JsonObject status, bool on, string source)
    {
        status["output"] = on;
        status["source"] = source;
        var power = on ? Math.Round(_baseLoad * (0.95 + _random.NextDouble() * 0.1), 1) : 0.0;
        status["apower"] = power;
        status["current"] = Math.Round(power / 230, 3);
        status["pf"] = on ? 0.97 : 0.0;
    }

    private bool LightMethod(string verb, JsonObject status, JsonObject p, string source, out JsonNode? result)
    {
        result = null;
        switch (verb.ToLowerInvariant())
        {
            case "set":
                var on = BoolArg(p, "on");
                if (p["brightness"] is not null)
                {
                    var b = IntArg(p, "brightness", required: true);
                    if (b is < 0 or > 100)
                    {
                        throw new ShellyRpcException(ShellyRpcException.InvalidArgument, "Argument 'brightness', value must be between 0 and 100!");
                    }
                    status["brightness"] = b;
                }
                else if (on is null)
                {
                    throw Missing("on");
                }
                if (on is not null)
                {
                    status["output"] = on.Value;
                }
                break;
            case "toggle":
                status["output"] = !status["output"]!.GetValue<bool>();
                break;
            default:
                return false;
        }
        status["source"] = source;
        return true;
    }

    private JsonNode? InputTrigger(string key, JsonObject p, List<JsonObject> outbox)
    {
        var type = p["event_type"]?.GetValue<string>() ?? throw Missing("event_type");
        if (type is not ("single_push" or "double_push" or "triple_push" or "long_push" or "btn_down" or "btn_up"))
        {
            throw new ShellyRpcException(ShellyRpcException.InvalidArgument, $"Invalid event_type '{type}'");
        }
        EmitEvents(outbox, new JsonObject { ["component"] = key, ["id"] = int.Parse(key[6..], CultureInfo.InvariantCulture), ["event"] = type });
        return null;
    }

    /// <summary>Turns every switch and light on, as if someone flipped them at the wall.</summary>
    public void SwitchAllOn()
    {
        lock (_gate)
        {
            foreach (var (key, (status, _)) in _components)
            {
                if (key.StartsWith("switch:", StringComparison.Ordinal))
                {
                    SetSwitch(status, true, "button");
                }
                else if (key.StartsWith("light:", StringComparison.Ordinal))
                {
                    status["output"] = true;
                }
            }
        }
    }

    /// <summary>Simulates a physical button press on an input (emits the event like the real device).</summary>
    public void Press(int input, string eventType = "single_push") =>
        Call("Input.Trigger", new JsonObject { ["id"] = input, ["event_type"] = eventType }, "button");

    private bool CoverMethod(string verb, string key, JsonObject status, JsonObject p, string source, List<JsonObject> outbox)
    {
        int target;
        switch (verb.ToLowerInvariant())
        {
            case "open":
                target = 100;
                break;
            case "close":
                target = 0;
                break;
            case "gotoposition":
                target = p["pos"] is not null ? IntArg(p, "pos", true)
                    : p["rel"] is not null ? Math.Clamp(status["current_pos"]!.GetValue<int>() + IntArg(p, "rel", true), 0, 100)
                    : throw Missing("pos");
                if (target is < 0 or > 100)
                {
                    throw new ShellyRpcException(ShellyRpcException.InvalidArgument, "Argument 'pos', value must be between 0 and 100!");
                }
                break;
            case "stop":
                _motion?.Cancel();
                status["state"] = "stopped";
                status["apower"] = 0.0;
                status["source"] = source;
                Emit(outbox, new JsonObject { [key] = status.DeepClone() });
                return true;
            case "calibrate":
                target = 100;
                break;
            default:
                return false;
        }
        _motion?.Cancel();
        var cts = _motion = new CancellationTokenSource();
        var current = status["current_pos"]!.GetValue<int>();
        status["state"] = target >= current ? "opening" : "closing";
        status["apower"] = 120.0;
        status["source"] = source;
        Emit(outbox, new JsonObject { [key] = status.DeepClone() });
        _ = MoveCoverAsync(key, status, target, cts.Token);
        return true;
    }

    private async Task MoveCoverAsync(string key, JsonObject status, int target, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(100, ct).ConfigureAwait(false);
                JsonObject frame;
                lock (_gate)
                {
                    if (ct.IsCancellationRequested)
                    {
                        return;
                    }
                    var pos = status["current_pos"]!.GetValue<int>();
                    var step = Math.Sign(target - pos) * Math.Min(20, Math.Abs(target - pos));
                    pos += step;
                    status["current_pos"] = pos;
                    var done = pos == target;
                    if (done)
                    {
                        status["state"] = target == 100 ? "open" : target == 0 ? "closed" : "stopped";
                        status["apower"] = 0.0;
                    }
                    frame = ShellyFrames.Notification(Id, "NotifyStatus", new JsonObject { [key] = status.DeepClone(), ["ts"] = ShellyFrames.Now() });
                    Send(frame);
                    if (done)
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
