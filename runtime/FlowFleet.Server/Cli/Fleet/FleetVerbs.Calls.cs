using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace FlowFleet.Server.Cli.Fleet;

/// <summary>The outcome of one call to one device.</summary>
public sealed class DeviceResult(string id)
{
    public string Id { get; } = id;

    public bool Ok { get; set; }

    public JsonNode? Result { get; set; }

    public int? Code { get; set; }

    public string? Error { get; set; }

    public long Ms { get; set; }

    public JsonObject ToJson()
    {
        var o = new JsonObject { ["id"] = Id, ["ok"] = Ok, ["durationMs"] = Ms };
        if (Ok)
        {
            o["result"] = Result?.DeepClone();
        }
        else
        {
            o["error"] = new JsonObject { ["code"] = Code, ["message"] = Error };
        }
        return o;
    }
}

public static partial class FleetVerbs
{
    /// <summary>
    /// Calls every device on its own (<c>Device.Call</c> on <c>/client</c>, <c>Parallel</c> at a time) so progress and each
    /// device's result show as they arrive: a live progress bar on a terminal, one line per device otherwise.
    /// </summary>
    internal static async Task<IReadOnlyList<DeviceResult>> CallEachAsync(FleetSession s, IReadOnlyList<JsonObject> devices, string title,
        Func<JsonObject, (string Method, JsonObject Params)> request, CancellationToken ct)
    {
        var done = 0;
        var failed = 0;
        Task<DeviceResult[]> Run(Action<DeviceResult, int> onDone) => CallAllAsync(s, devices, request, r =>
        {
            var finished = Interlocked.Increment(ref done);
            if (!r.Ok)
            {
                Interlocked.Increment(ref failed);
            }
            onDone(r, finished);
        }, ct);
        DeviceResult[] results = [];
        if (s.Json)
        {
            results = await Run((_, _) => { });
        }
        else if (s.Console.Profile.Capabilities.Interactive)
        {
            await s.Console.Progress().AutoClear(true).StartAsync(async ctx =>
            {
                var task = ctx.AddTask(E(title), maxValue: devices.Count);
                results = await Run((_, _) =>
                {
                    task.Increment(1);
                    task.Description = E($"{title}: {Volatile.Read(ref done)}/{devices.Count}, {Volatile.Read(ref failed)} failed");
                });
            });
        }
        else
        {
            var gate = new Lock();
            results = await Run((r, n) =>
            {
                lock (gate)
                {
                    s.Console.WriteLine($"[{n}/{devices.Count}] {r.Id} {(r.Ok ? "ok" : "failed: " + r.Error)} ({r.Ms} ms)");
                }
            });
        }
        return results;
    }

    /// <summary>
    /// <c>Device.Call</c> on every device, <c>Parallel</c> at a time; a device's error is kept in its result, not thrown.
    /// <paramref name="onDone"/> sees each result as it arrives (from the calls' threads).
    /// </summary>
    internal static async Task<DeviceResult[]> CallAllAsync(FleetSession s, IReadOnlyList<JsonObject> devices,
        Func<JsonObject, (string Method, JsonObject Params)> request, Action<DeviceResult> onDone, CancellationToken ct)
    {
        var results = new DeviceResult[devices.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, devices.Count), new ParallelOptions { MaxDegreeOfParallelism = s.Settings.Parallel, CancellationToken = ct }, async (i, token) =>
        {
            var id = devices[i]["id"]!.ToString();
            var (method, p) = request(devices[i]);
            var r = new DeviceResult(id);
            var started = Stopwatch.GetTimestamp();
            try
            {
                r.Result = await s.Client.CallAsync("Device.Call", new JsonObject { ["id"] = id, ["method"] = method, ["params"] = p, ["timeout"] = s.Settings.Timeout }, token);
                r.Ok = true;
            }
            catch (FleetRpcError ex)
            {
                (r.Code, r.Error) = (ex.Code, ex.Message);
            }
            r.Ms = Ms(started);
            results[i] = r;
            onDone(r);
        });
        return results;
    }

    /// <summary>Per-device results (a table, or JSON) and the exit code: 1 when any device failed.</summary>
    internal static int Report(FleetSession s, IReadOnlyList<DeviceResult> results, Func<DeviceResult, string> describe)
    {
        var ok = results.Count(r => r.Ok);
        if (s.Json)
        {
            s.WriteJson(new JsonArray(results.Select(r => (JsonNode?)r.ToJson()).ToArray()));
        }
        else
        {
            var table = new Table().AddColumns("device", "result", "ms");
            foreach (var r in results)
            {
                table.AddRow(E(r.Id), r.Ok ? E(describe(r)) : $"[red]{E($"error {r.Code}: {r.Error}")}[/]", r.Ms.ToString(CultureInfo.InvariantCulture));
            }
            s.Console.Write(table);
            s.Console.MarkupLine($"{results.Count} device(s): [green]{ok} ok[/], {(ok == results.Count ? "0 failed" : $"[red]{results.Count - ok} failed[/]")}");
        }
        return ok == results.Count ? 0 : 1;
    }
}
