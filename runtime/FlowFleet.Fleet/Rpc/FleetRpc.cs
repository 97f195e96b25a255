using System.Diagnostics;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;

namespace FlowFleet.Fleet.Rpc;

/// <summary>The outcome of one RPC to one device.</summary>
public sealed record DeviceCallResult(string DeviceId, bool Ok, JsonNode? Result, int? ErrorCode, string? Error, double DurationMs)
{
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["id"] = DeviceId, ["ok"] = Ok, ["durationMs"] = Math.Round(DurationMs, 1) };
        if (Ok)
        {
            o["result"] = Result?.DeepClone();
        }
        else
        {
            o["error"] = new JsonObject { ["code"] = ErrorCode, ["message"] = Error };
        }
        return o;
    }
}

/// <summary>One call to many devices (a group, a list, everything) with bounded parallelism and progress.</summary>
public static class FleetRpc
{
    public static async Task<IReadOnlyList<DeviceCallResult>> CallManyAsync(DeviceHub hub, IReadOnlyList<string> deviceIds, string method, JsonNode? parameters,
        TimeSpan? timeout = null, string? user = null, int parallelism = 64, IProgress<DeviceCallResult>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(hub);
        var results = new DeviceCallResult[deviceIds.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, deviceIds.Count), new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct },
            async (i, token) =>
            {
                var r = await CallOneAsync(hub, deviceIds[i], method, parameters, timeout, user, token).ConfigureAwait(false);
                results[i] = r;
                progress?.Report(r);
            }).ConfigureAwait(false);
        return results;
    }

    public static async Task<DeviceCallResult> CallOneAsync(DeviceHub hub, string id, string method, JsonNode? parameters, TimeSpan? timeout, string? user, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(hub);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await hub.CallAsync(id, method, parameters, timeout, user, ct).ConfigureAwait(false);
            return new DeviceCallResult(id, true, result, null, null, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (ShellyRpcException ex)
        {
            return new DeviceCallResult(id, false, null, ex.Code, ex.Message, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }
}
