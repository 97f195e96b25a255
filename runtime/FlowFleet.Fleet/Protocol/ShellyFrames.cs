using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Protocol;

/// <summary>Small helpers for Shelly JSON-RPC frames.</summary>
public static class ShellyFrames
{
    public static JsonObject Request(long id, string src, string method, JsonNode? parameters) =>
        parameters is null
            ? new JsonObject { ["id"] = id, ["src"] = src, ["method"] = method }
            : new JsonObject { ["id"] = id, ["src"] = src, ["method"] = method, ["params"] = parameters };

    public static JsonObject Notification(string src, string method, JsonObject parameters) =>
        new() { ["src"] = src, ["method"] = method, ["params"] = parameters };

    /// <summary>Unix time in seconds as Shelly sends it in <c>ts</c>.</summary>
    public static double Now() => Math.Round(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, 2);

    /// <summary>Deep-merges a NotifyStatus delta into a cached status; null values remove keys.</summary>
    public static void DeepMerge(JsonObject target, JsonObject delta)
    {
        foreach (var (key, value) in delta)
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else if (value is JsonObject o && target[key] is JsonObject existing)
            {
                DeepMerge(existing, o);
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }
    }

    /// <summary>Flattens numeric leaves: <c>switch:0.apower</c>, <c>switch:0.aenergy.total</c> (arrays are skipped).</summary>
    public static void FlattenNumbers(JsonObject status, string prefix, List<KeyValuePair<string, double>> into)
    {
        foreach (var (key, value) in status)
        {
            var path = prefix.Length == 0 ? key : prefix + "." + key;
            switch (value)
            {
                case JsonObject o:
                    FlattenNumbers(o, path, into);
                    break;
                case JsonValue v when key is not ("id" or "ts" or "minute_ts" or "unixtime" or "uptime" or "time") && Registry.JsonRead.Number(v) is { } number:
                    into.Add(new(path, number));
                    break;
                case JsonValue v when key == "output" && Registry.JsonRead.Bool(v) is { } on:
                    into.Add(new(path, on ? 1 : 0));
                    break;
            }
        }
    }
}
